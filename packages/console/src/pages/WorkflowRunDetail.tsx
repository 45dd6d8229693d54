/**
 * A workflow run: its nodes on the graph of the revision it runs, each coloured by its status with
 * its duration, refreshed every second until the run ends. Clicking a node opens its run
 * (`/runs/:id`); a node without one shows why in the side panel. Recovery: cancel the run, rerun
 * it from its failed nodes, and per node (right-click, the side panel, or the list's last column)
 * rerun, mark succeeded (with an output) or skip. Each asks first, and shows the API's refusal
 * in its dialog.
 */
import { MoreOutlined, RedoOutlined, StopOutlined } from '@ant-design/icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Card, Descriptions, Drawer, Dropdown, Result, Space, Spin, Typography, type MenuProps } from 'antd';
import { useMemo, useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useParams } from 'react-router-dom';
import {
  api, ApiError, workflowNodeAction, workflowRevision, workflowRunAction, type WorkflowRunResource,
} from '../api.ts';
import { useAuth } from '../auth.tsx';
import { ErrorView, Instant, Json, StatusTag } from '../components/common.tsx';
import { ActionModal } from '../components/workflow/ActionModal.tsx';
import { NodeSpecDescriptions } from '../components/workflow/NodeSpecDrawer.tsx';
import { WorkflowDag } from '../components/workflow/WorkflowDag.tsx';
import { durationBetween, formatDuration } from '../format.ts';
import { specToDag, type Dag } from '../workflow/graph.ts';
import { canRerunFromFailed, isWorkflowRunFinished, nodeActions } from '../workflow/run.ts';
import type { WorkflowRunNode } from '../workflow/types.ts';

type NodeAction = 'rerun' | 'succeed' | 'skip';
type Pending = { kind: 'cancel' } | { kind: 'rerun-failed' } | { kind: 'node'; action: NodeAction; node: string };

/** No workflow run has this id for the caller (404), or it is no id at all (400). */
function isMissing(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 404 || (error.status === 400 && error.code === 'VALIDATION_FAILED'));
}

export default function WorkflowRunDetail() {
  const { id } = useParams() as { id: string };
  const { t } = useTranslation();
  const { can } = useAuth();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const client = useQueryClient();
  const [pending, setPending] = useState<Pending | null>(null);
  const [panel, setPanel] = useState<string | null>(null);
  const [menu, setMenu] = useState<{ node: string; x: number; y: number } | null>(null);
  const run = useQuery({
    queryKey: ['workflow-run', id],
    queryFn: () => api<WorkflowRunResource>('GET', `/workflow-runs/${encodeURIComponent(id)}`),
    // Polled every second until it ends; a refused or unknown id is not asked again.
    refetchInterval: (query) => ((query.state.data && isWorkflowRunFinished(query.state.data.status)) || isMissing(query.state.error) ? false : 1000),
  });
  const data = run.data;
  // A revision's spec never changes: read once.
  const revision = useQuery({
    queryKey: ['workflow-revision', data?.workflowId, data?.revision],
    queryFn: () => workflowRevision(data!.workflowId, data!.revision),
    enabled: !!data,
    staleTime: Infinity,
    retry: false,
  });
  const nodes = data?.nodes;
  const states = useMemo(() => new Map((nodes ?? []).map((node) => [node.id, node])), [nodes]);
  // Without the revision's spec, the run's own nodes, unlinked (laid out once per set of ids).
  const nodeIds = (nodes ?? []).map((node) => node.id).join('\n');
  const bare = useMemo<{ dag: Dag; key: object }>(() => {
    const ids = nodeIds ? nodeIds.split('\n') : [];
    return { dag: { nodes: ids.map((node, index) => ({ id: node, index, spec: { id: node } })), edges: [] }, key: {} };
  }, [nodeIds]);
  const spec = revision.data?.spec;
  const fromSpec = useMemo(() => (spec ? specToDag(spec) : null), [spec]);
  const dag = fromSpec ?? bare.dag;

  if (isMissing(run.error)) return <WorkflowRunNotFound id={id} />;
  if (run.error) return <ErrorView error={run.error} />;
  if (!data) return <Spin />;
  const finished = isWorkflowRunFinished(data.status);
  const operator = can('operator', data?.namespace); // recovery and cancel are operations on runs, in the run's namespace

  function openNode(node: string) {
    const state = states.get(node);
    if (state?.runId) navigate(`/runs/${state.runId}`);
    else setPanel(node);
  }

  function nodeMenu(node: string): MenuProps['items'] {
    const state = states.get(node);
    const allowed = state ? nodeActions(state) : { rerun: false, succeed: false, skip: false };
    return [
      ...(state?.runId ? [{ key: 'open', label: t('dag.openRun') }] : []),
      { key: 'details', label: t('workflowRun.details') },
      ...(operator ? [
        { type: 'divider' as const },
        { key: 'rerun', label: t('workflowRun.nodeRerun'), disabled: !allowed.rerun },
        { key: 'succeed', label: t('workflowRun.nodeSucceed'), disabled: !allowed.succeed },
        { key: 'skip', label: t('workflowRun.nodeSkip'), disabled: !allowed.skip },
      ] : []),
    ];
  }

  function onMenu(node: string, key: string) {
    setMenu(null);
    if (key === 'open') navigate(`/runs/${states.get(node)?.runId}`);
    else if (key === 'details') setPanel(node);
    else setPending({ kind: 'node', action: key as NodeAction, node });
  }

  function done(updated: WorkflowRunResource, note: string) {
    client.setQueryData(['workflow-run', id], updated);
    void client.invalidateQueries({ queryKey: ['workflow-runs'] });
    setPending(null);
    message.success(note);
  }

  const panelState = panel ? states.get(panel) : undefined;
  const panelSpec = panel ? dag.nodes.find((n) => n.id === panel)?.spec : undefined;
  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <Space style={{ width: '100%', justifyContent: 'space-between' }} wrap>
        <Space wrap>
          <Typography.Title level={3} style={{ margin: 0 }}>{t('workflowRun.title')}</Typography.Title>
          <span data-testid="workflow-run-status"><StatusTag status={data.status} /></span>
          <Link to={`/workflows/${data.workflowId}`}>{data.namespace}/{data.workflowName}</Link>
        </Space>
        {operator && (
          <Space wrap>
            <Button icon={<RedoOutlined />} disabled={!canRerunFromFailed(data)} onClick={() => setPending({ kind: 'rerun-failed' })} data-testid="rerun-failed">
              {t('workflowRun.rerunFailed')}
            </Button>
            {!finished && (
              <Button danger icon={<StopOutlined />} onClick={() => setPending({ kind: 'cancel' })} data-testid="cancel-workflow-run">{t('workflowRun.cancel')}</Button>
            )}
          </Space>
        )}
      </Space>
      {data.error && <Alert type="error" showIcon title={t('run.error')} description={<span data-testid="workflow-run-error">{data.error}</span>} />}
      <Card size="small">
        <Descriptions size="small" column={{ xs: 1, sm: 1, md: 2, xxl: 3 }}>
          <Descriptions.Item label="ID"><Typography.Text copyable style={{ fontSize: 12 }}>{data.id}</Typography.Text></Descriptions.Item>
          <Descriptions.Item label={t('runs.trigger')}>{t(`runs.triggers.${data.trigger}`, { defaultValue: data.trigger })}</Descriptions.Item>
          <Descriptions.Item label={t('workflow.revision')}>{data.revision}</Descriptions.Item>
          <Descriptions.Item label={t('runs.scheduledAt')}><Instant value={data.scheduledAt} ms /></Descriptions.Item>
          <Descriptions.Item label={t('run.startedAt')}><Instant value={data.startedAt} ms /></Descriptions.Item>
          <Descriptions.Item label={t('run.finishedAt')}><Instant value={data.finishedAt} ms /></Descriptions.Item>
          <Descriptions.Item label={t('runs.duration')}>{formatDuration(durationBetween(data.startedAt, data.finishedAt))}</Descriptions.Item>
          <Descriptions.Item label={t('workflow.nodeCount')}>{nodes?.length ?? '—'}</Descriptions.Item>
        </Descriptions>
      </Card>
      <Card size="small" title={t('workflow.graph')} extra={<Typography.Text type="secondary" style={{ fontSize: 12 }}>{t('workflowRun.clickHint')}</Typography.Text>}>
        {revision.error && (
          <Alert type="warning" showIcon style={{ marginBottom: 12 }}
            title={t('workflowRun.specMissing', { revision: data.revision, message: revision.error instanceof Error ? revision.error.message : String(revision.error) })} />
        )}
        {revision.isLoading ? <Spin /> : (
          <WorkflowDag
            dag={dag} layoutKey={spec ?? bare.key} states={states} selected={panel}
            onNodeClick={openNode}
            onNodeContextMenu={(node, event) => {
              event.preventDefault();
              setMenu({ node, x: event.clientX, y: event.clientY });
            }}
            actions={(node) => (
              <Dropdown trigger={['click']} menu={{ items: nodeMenu(node), onClick: ({ key }) => onMenu(node, key) }}>
                <Button size="small" icon={<MoreOutlined />} aria-label={t('dag.actions')} data-testid="node-actions" />
              </Dropdown>
            )}
          />
        )}
      </Card>
      <Card size="small" title={t('run.params')}><Json value={data.params} /></Card>
      {menu && (
        <Dropdown open trigger={['click']} menu={{ items: nodeMenu(menu.node), onClick: ({ key }) => onMenu(menu.node, key) }} onOpenChange={(open) => !open && setMenu(null)}>
          <div style={{ position: 'fixed', left: menu.x, top: menu.y, width: 1, height: 1 }} data-testid="node-menu-anchor" />
        </Dropdown>
      )}
      <Drawer open={!!panel} onClose={() => setPanel(null)} title={panel ? t('workflow.nodeTitle', { id: panel }) : ''} size={420} mask={false} data-testid="node-panel">
        {panel && (
          <NodePanel
            state={panelState} operator={operator}
            onAction={(action) => setPending({ kind: 'node', action, node: panel })}
            spec={panelSpec && spec ? <NodeSpecDescriptions node={panelSpec} /> : null}
          />
        )}
      </Drawer>
      {pending && <PendingAction run={data} pending={pending} onClose={() => setPending(null)} onDone={done} />}
    </Space>
  );
}

function NodePanel({ state, operator, onAction, spec }: { state: WorkflowRunNode | undefined; operator: boolean; onAction(action: NodeAction): void; spec: ReactNode }) {
  const { t } = useTranslation();
  const allowed = state ? nodeActions(state) : null;
  return (
    <Space orientation="vertical" style={{ width: '100%' }}>
      {state ? (
        <Descriptions size="small" column={1} bordered>
          <Descriptions.Item label={t('dag.status')}><span data-testid="node-panel-status"><StatusTag status={state.status} /></span></Descriptions.Item>
          <Descriptions.Item label={t('dag.reason')}>
            <span data-testid="node-panel-reason">{state.reason ? t(`reasons.${state.reason}`, { defaultValue: state.reason }) : '—'}</span>
          </Descriptions.Item>
          <Descriptions.Item label={t('dag.run')}>
            {state.runId
              ? <Link to={`/runs/${state.runId}`} data-testid="node-panel-run">{t('dag.openRun')}</Link>
              : <Typography.Text type="secondary">{state.status === 'waiting' ? t('workflowRun.notStarted') : t('workflowRun.noRun', { reason: state.reason ? t(`reasons.${state.reason}`, { defaultValue: state.reason }) : '—' })}</Typography.Text>}
          </Descriptions.Item>
          <Descriptions.Item label={t('dag.attempts')}>{state.attempts}</Descriptions.Item>
          <Descriptions.Item label={t('run.startedAt')}><Instant value={state.startedAt} ms /></Descriptions.Item>
          <Descriptions.Item label={t('run.finishedAt')}><Instant value={state.finishedAt} ms /></Descriptions.Item>
          <Descriptions.Item label={t('dag.duration')}>{formatDuration(durationBetween(state.startedAt, state.finishedAt))}</Descriptions.Item>
        </Descriptions>
      ) : <Typography.Text type="secondary">{t('workflowRun.notStarted')}</Typography.Text>}
      {operator && allowed && (
        <Space wrap>
          <Button size="small" disabled={!allowed.rerun} onClick={() => onAction('rerun')} data-testid="node-rerun">{t('workflowRun.nodeRerun')}</Button>
          <Button size="small" disabled={!allowed.succeed} onClick={() => onAction('succeed')} data-testid="node-succeed">{t('workflowRun.nodeSucceed')}</Button>
          <Button size="small" disabled={!allowed.skip} onClick={() => onAction('skip')} data-testid="node-skip">{t('workflowRun.nodeSkip')}</Button>
        </Space>
      )}
      {spec}
    </Space>
  );
}

/** The dialog of the action asked for; the run it answers goes to `onDone`. */
function PendingAction({ run, pending, onClose, onDone }: { run: WorkflowRunResource; pending: Pending; onClose(): void; onDone(run: WorkflowRunResource, note: string): void }) {
  const { t } = useTranslation();
  if (pending.kind === 'cancel') {
    return (
      <ActionModal<WorkflowRunResource> title={t('workflowRun.cancelTitle')} help={t('workflowRun.cancelHelp')} okText={t('workflowRun.cancel')} cancelText={t('common.back')} danger
        onSubmit={() => workflowRunAction(run.id, 'cancel')} onDone={(r) => onDone(r, t('workflowRun.cancelled'))} onClose={onClose} />
    );
  }
  if (pending.kind === 'rerun-failed') {
    return (
      <ActionModal<WorkflowRunResource> title={t('workflowRun.rerunFailedTitle')} help={t('workflowRun.rerunFailedHelp')} okText={t('workflowRun.rerunFailedOk')}
        onSubmit={() => workflowRunAction(run.id, 'rerun-failed')} onDone={(r) => onDone(r, t('workflowRun.rerunFailedDone'))} onClose={onClose} />
    );
  }
  const node = pending.node;
  const submit = (output?: unknown) => workflowNodeAction(run.id, node, pending.action, output);
  if (pending.action === 'succeed') {
    return (
      <ActionModal<WorkflowRunResource> title={t('workflowRun.nodeSucceedTitle', { node })} help={t('workflowRun.nodeSucceedHelp')} okText={t('workflowRun.nodeSucceed')}
        json={{
          label: t('workflowRun.output'), initial: '',
          read: (text) => {
            if (!text.trim()) return { value: undefined };
            try {
              return { value: JSON.parse(text) as unknown };
            } catch (error) {
              return { problem: t('workflowRun.outputNotJson', { message: (error as Error).message }) };
            }
          },
        }}
        onSubmit={submit} onDone={(r) => onDone(r, t('workflowRun.nodeSucceedDone', { node }))} onClose={onClose} />
    );
  }
  const rerun = pending.action === 'rerun';
  return (
    <ActionModal<WorkflowRunResource>
      title={t(rerun ? 'workflowRun.nodeRerunTitle' : 'workflowRun.nodeSkipTitle', { node })} help={t(rerun ? 'workflowRun.nodeRerunHelp' : 'workflowRun.nodeSkipHelp')}
      okText={t(rerun ? 'workflowRun.nodeRerun' : 'workflowRun.nodeSkip')}
      onSubmit={() => submit()} onDone={(r) => onDone(r, t(rerun ? 'workflowRun.nodeRerunDone' : 'workflowRun.nodeSkipDone', { node }))} onClose={onClose} />
  );
}

function WorkflowRunNotFound({ id }: { id: string }) {
  const { t } = useTranslation();
  return (
    <Result status="404" title={<span data-testid="workflow-run-not-found">{t('workflowRun.notFoundTitle')}</span>}
      subTitle={<span style={{ overflowWrap: 'anywhere' }}>{t('workflowRun.notFound', { id })}</span>}
      extra={<Link to="/workflows"><Button type="primary">{t('workflowRun.allWorkflows')}</Button></Link>} />
  );
}
