/**
 * A workflow: its state and spec summary, its graph (read-only; a node's spec in a side panel),
 * its runs (paged, by status), its spec as YAML or JSON; trigger now (with a params override),
 * pause, resume, edit, delete.
 */
import { DeleteOutlined, EditOutlined, PauseCircleOutlined, PlayCircleOutlined, ThunderboltOutlined } from '@ant-design/icons';
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Card, Descriptions, Popconfirm, Select, Space, Spin, Tabs, Typography } from 'antd';
import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useParams } from 'react-router-dom';
import {
  api, deleteWorkflow, qs, triggerWorkflow, workflowAction, type Page, type WorkflowResource, type WorkflowRunResource,
} from '../api.ts';
import { useAuth } from '../auth.tsx';
import { ErrorView, errorMessage, Instant, Json, StatusTag } from '../components/common.tsx';
import { Pager } from '../components/Pager.tsx';
import { readParams } from '../components/RerunModal.tsx';
import { useCursorPages } from '../components/useCursorPages.ts';
import { ActionModal } from '../components/workflow/ActionModal.tsx';
import { NodeSpecDrawer } from '../components/workflow/NodeSpecDrawer.tsx';
import { WorkflowDag } from '../components/workflow/WorkflowDag.tsx';
import { WorkflowRunsTable } from '../components/workflow/WorkflowRunsTable.tsx';
import { describeSchedule, msText, specToText } from '../spec.ts';
import { specToDag } from '../workflow/graph.ts';
import { WORKFLOW_RUN_STATUSES } from '../workflow/run.ts';

const RUNS_PAGE_SIZE = 20;

/** A policy as written: a word (`skip`), or an object shown as compact JSON. */
function policyText(value: unknown): string {
  if (value === undefined || value === null) return '—';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export default function WorkflowDetail() {
  const { id } = useParams() as { id: string };
  const { t } = useTranslation();
  const { can } = useAuth();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const client = useQueryClient();
  const [triggerOpen, setTriggerOpen] = useState(false);
  const [busy, setBusy] = useState<string | null>(null);
  const [nodeId, setNodeId] = useState<string | null>(null);
  const workflow = useQuery({ queryKey: ['workflow', id], queryFn: () => api<WorkflowResource>('GET', `/workflows/${encodeURIComponent(id)}`), refetchInterval: 5000 });
  const spec = workflow.data?.spec;
  const dag = useMemo(() => specToDag(spec), [spec]);

  async function act(action: 'pause' | 'resume' | 'delete') {
    setBusy(action);
    try {
      if (action === 'delete') {
        await deleteWorkflow(id);
        message.success(t('workflow.deleted'));
        await client.invalidateQueries({ queryKey: ['workflows'] });
        navigate('/workflows');
        return;
      }
      client.setQueryData(['workflow', id], await workflowAction(id, action));
      message.success(t(action === 'pause' ? 'workflow.paused' : 'workflow.resumed'));
    } catch (error) {
      message.error(errorMessage(error));
    } finally {
      setBusy(null);
    }
  }

  if (workflow.error) return <ErrorView error={workflow.error} />;
  if (!workflow.data || !spec) return <Spin />;
  const data = workflow.data;
  const selectedNode = nodeId ? dag.nodes.find((n) => n.id === nodeId)?.spec ?? null : null;
  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <Space style={{ width: '100%', justifyContent: 'space-between' }} wrap>
        <Space wrap>
          <Typography.Title level={3} style={{ margin: 0 }} data-testid="workflow-title">{data.namespace}/{data.name}</Typography.Title>
          <span data-testid="workflow-state"><StatusTag status={data.state} /></span>
        </Space>
        {can('operator', workflow.data?.namespace) && (
          <Space wrap>
            <Button type="primary" icon={<ThunderboltOutlined />} onClick={() => setTriggerOpen(true)} data-testid="trigger">{t('workflow.trigger')}</Button>
            {data.state === 'paused'
              ? <Button icon={<PlayCircleOutlined />} loading={busy === 'resume'} onClick={() => act('resume')} data-testid="resume">{t('workflow.resume')}</Button>
              : <Button icon={<PauseCircleOutlined />} loading={busy === 'pause'} disabled={data.state === 'completed'} onClick={() => act('pause')} data-testid="pause">{t('workflow.pause')}</Button>}
            {can('editor', workflow.data?.namespace) && (
              <>
                <Link to={`/workflows/${id}/edit`}><Button icon={<EditOutlined />} data-testid="edit">{t('workflow.edit')}</Button></Link>
                <Popconfirm title={t('workflow.deleteConfirm', { name: data.name })} description={t('workflow.deleteHint')} okText={t('workflow.delete')}
                  okButtonProps={{ danger: true, 'data-testid': 'delete-ok' } as never} cancelText={t('common.cancel')} onConfirm={() => act('delete')}>
                  <Button danger icon={<DeleteOutlined />} loading={busy === 'delete'} data-testid="delete">{t('workflow.delete')}</Button>
                </Popconfirm>
              </>
            )}
          </Space>
        )}
      </Space>
      {spec.description && (
        <Typography.Paragraph type="secondary" style={{ margin: 0, whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }} data-testid="workflow-description">{spec.description}</Typography.Paragraph>
      )}
      <Card size="small">
        <Descriptions size="small" column={{ xs: 1, sm: 1, md: 2, xxl: 3 }}>
          <Descriptions.Item label={t('workflows.schedule')}><Typography.Text code>{describeSchedule(spec.schedule, t)}</Typography.Text></Descriptions.Item>
          <Descriptions.Item label={t('workflows.nextFire')}><Instant value={data.nextFireAt} /></Descriptions.Item>
          <Descriptions.Item label={t('workflow.lastFire')}><Instant value={data.lastFireAt} /></Descriptions.Item>
          <Descriptions.Item label={t('workflows.lastOutcome')}><StatusTag status={data.lastRunStatus} /></Descriptions.Item>
          <Descriptions.Item label={t('workflow.revision')}>{data.revision}</Descriptions.Item>
          <Descriptions.Item label={t('workflow.nodeCount')}>{dag.nodes.length}</Descriptions.Item>
          <Descriptions.Item label={t('workflow.overlap')}>{policyText(spec.overlap)}</Descriptions.Item>
          <Descriptions.Item label={t('workflow.misfire')}>{policyText(spec.misfire)}</Descriptions.Item>
          <Descriptions.Item label={t('workflow.timeout')}>{spec.timeoutMs === undefined ? '—' : msText(spec.timeoutMs)}</Descriptions.Item>
          <Descriptions.Item label={t('workflow.created')}><Instant value={data.createdAt} /></Descriptions.Item>
          <Descriptions.Item label={t('workflow.updated')}><Instant value={data.updatedAt} /></Descriptions.Item>
        </Descriptions>
      </Card>
      <Card size="small" title={t('workflow.graph')}>
        <WorkflowDag dag={dag} layoutKey={spec} selected={nodeId} onNodeClick={setNodeId} />
      </Card>
      <Tabs items={[
        { key: 'runs', label: t('workflow.runs'), children: <WorkflowRuns key={id} workflowId={id} /> },
        { key: 'spec', label: t('workflow.spec'), children: <SpecText spec={spec} /> },
      ]} />
      <NodeSpecDrawer node={selectedNode} onClose={() => setNodeId(null)} />
      {triggerOpen && (
        <ActionModal<WorkflowRunResource>
          title={t('workflow.triggerTitle', { name: data.name })} help={t('workflow.triggerHelp')} okText={t('workflow.triggerOk')}
          extra={<><Typography.Text>{t('workflow.workflowParams')}</Typography.Text><Json value={spec.params ?? {}} /></>}
          json={{
            label: t('workflow.override'), initial: '{}',
            read: (text) => {
              const read = readParams(text);
              if ('params' in read) return { value: read.params };
              return { problem: read.problem === 'json' ? t('run.paramsNotJson', { message: read.detail }) : t('run.paramsNotObject') };
            },
          }}
          onSubmit={(params) => triggerWorkflow(id, params as Record<string, unknown>)}
          onDone={(run) => navigate(`/workflow-runs/${run.id}`)}
          onClose={() => setTriggerOpen(false)}
        />
      )}
    </Space>
  );
}

function WorkflowRuns({ workflowId }: { workflowId: string }) {
  const { t } = useTranslation();
  const [status, setStatus] = useState<string | undefined>();
  const pages = useCursorPages();
  const runs = useQuery({
    queryKey: ['workflow-runs', workflowId, status, pages.cursor],
    queryFn: () => api<Page<WorkflowRunResource>>('GET', `/workflow-runs${qs({ workflowId, status, cursor: pages.cursor, limit: RUNS_PAGE_SIZE })}`),
    placeholderData: keepPreviousData,
    refetchInterval: 2000,
  });
  return (
    <Space orientation="vertical" style={{ width: '100%' }}>
      <Select allowClear placeholder={t('workflow.status')} aria-label={t('workflow.status')} style={{ width: 160 }}
        onChange={(v: string | undefined) => { pages.reset(); setStatus(v); }}
        options={WORKFLOW_RUN_STATUSES.map((s) => ({ value: s, label: t(`status.${s}`) }))} />
      {runs.error ? <ErrorView error={runs.error} /> : <WorkflowRunsTable runs={runs.data?.items ?? []} loading={runs.isLoading} />}
      <Pager page={pages.page} hasNext={!!runs.data?.nextCursor} onPrevious={pages.previous} onNext={() => pages.next(runs.data?.nextCursor ?? null)} />
    </Space>
  );
}

function SpecText({ spec }: { spec: WorkflowResource['spec'] }) {
  const { t } = useTranslation();
  const [format, setFormat] = useState<'yaml' | 'json'>('yaml');
  return (
    <Space orientation="vertical" style={{ width: '100%' }}>
      <Select value={format} onChange={setFormat} style={{ width: 100 }} options={[{ value: 'yaml', label: 'YAML' }, { value: 'json', label: 'JSON' }]} aria-label={t('task.format')} />
      <pre style={{ margin: 0, padding: 12, background: '#f6f8fa', borderRadius: 6, overflow: 'auto', maxHeight: 600, fontSize: 12 }} data-testid="workflow-spec">
        {specToText(spec, format)}
      </pre>
    </Space>
  );
}
