/** A task: its state and spec, revisions with a diff between two, its runs, its alert rules, trigger now (with a params override), pause, resume, clone, delete. */
import { CopyOutlined, DeleteOutlined, EditOutlined, PauseCircleOutlined, PlayCircleOutlined, ThunderboltOutlined } from '@ant-design/icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Card, Descriptions, Input, Modal, Popconfirm, Select, Space, Spin, Tabs, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { api, type Page, type RunResource, type TaskResource, type TaskRevision } from '../api.ts';
import { useAuth } from '../auth.tsx';
import { TaskAlertRules } from '../components/alerts/TaskAlertRules.tsx';
import { CloneTaskModal } from '../components/CloneTaskModal.tsx';
import { ErrorView, errorMessage, Instant, StatusTag } from '../components/common.tsx';
import { RunsTable } from '../components/RunsTable.tsx';
import { SpecDiff } from '../components/SpecDiff.tsx';
import { describeSchedule, describeTarget, parseJsonObject, specToText, type Spec } from '../spec.ts';

export default function TaskDetail() {
  const { id } = useParams() as { id: string };
  const { t } = useTranslation();
  const { can } = useAuth();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const client = useQueryClient();
  const [triggerOpen, setTriggerOpen] = useState(false);
  const [cloneOpen, setCloneOpen] = useState(false);
  const [busy, setBusy] = useState<string | null>(null);
  const task = useQuery({ queryKey: ['task', id], queryFn: () => api<TaskResource>('GET', `/tasks/${id}`), refetchInterval: 5000 });
  const runs = useQuery({ queryKey: ['runs', 'task', id], queryFn: () => api<Page<RunResource>>('GET', `/runs?taskId=${id}&limit=20`), refetchInterval: 2000 });

  async function act(action: 'pause' | 'resume' | 'delete') {
    setBusy(action);
    try {
      if (action === 'delete') {
        await api('DELETE', `/tasks/${id}`);
        message.success(t('task.deleted'));
        await client.invalidateQueries({ queryKey: ['tasks'] });
        navigate('/tasks');
        return;
      }
      const updated = await api<TaskResource>('POST', `/tasks/${id}/${action}`);
      client.setQueryData(['task', id], updated);
      message.success(t(action === 'pause' ? 'task.paused' : 'task.resumed'));
    } catch (error) {
      message.error(errorMessage(error));
    } finally {
      setBusy(null);
    }
  }

  if (task.error) return <ErrorView error={task.error} />;
  if (!task.data) return <Spin />;
  const data = task.data;
  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      <Space style={{ width: '100%', justifyContent: 'space-between' }} wrap>
        <Space wrap>
          <Typography.Title level={3} style={{ margin: 0 }} data-testid="task-title">{data.namespace}/{data.name}</Typography.Title>
          <span data-testid="task-state"><StatusTag status={data.state} /></span>
        </Space>
        {can('operator', task.data?.namespace) && (
          <Space wrap>
            <Button type="primary" icon={<ThunderboltOutlined />} onClick={() => setTriggerOpen(true)} data-testid="trigger">{t('task.trigger')}</Button>
            {data.state === 'paused'
              ? <Button icon={<PlayCircleOutlined />} loading={busy === 'resume'} onClick={() => act('resume')} data-testid="resume">{t('task.resume')}</Button>
              : <Button icon={<PauseCircleOutlined />} loading={busy === 'pause'} disabled={data.state === 'completed'} onClick={() => act('pause')} data-testid="pause">{t('task.pause')}</Button>}
            {can('editor', task.data?.namespace) && (
              <>
                <Link to={`/tasks/${id}/edit`}><Button icon={<EditOutlined />}>{t('task.edit')}</Button></Link>
                <Button icon={<CopyOutlined />} onClick={() => setCloneOpen(true)} data-testid="clone">{t('task.clone')}</Button>
                <Popconfirm title={t('task.deleteConfirm', { name: data.name })} description={t('task.deleteHint')} okText={t('task.delete')} okButtonProps={{ danger: true }}
                  cancelText={t('common.cancel')} onConfirm={() => act('delete')}>
                  <Button danger icon={<DeleteOutlined />} loading={busy === 'delete'}>{t('task.delete')}</Button>
                </Popconfirm>
              </>
            )}
          </Space>
        )}
      </Space>
      {data.spec.description && (
        <Typography.Paragraph type="secondary" style={{ margin: 0, whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }} data-testid="task-description">{data.spec.description}</Typography.Paragraph>
      )}
      <Card size="small">
        <Descriptions size="small" column={{ xs: 1, sm: 1, md: 2, xxl: 3 }}>
          <Descriptions.Item label={t('tasks.schedule')}><Typography.Text code>{describeSchedule(data.spec.schedule as Spec, t)}</Typography.Text></Descriptions.Item>
          <Descriptions.Item label={t('tasks.nextFire')}><Instant value={data.nextFireAt} /></Descriptions.Item>
          <Descriptions.Item label={t('task.lastFire')}><Instant value={data.lastFireAt} /></Descriptions.Item>
          <Descriptions.Item label={t('tasks.lastOutcome')}><StatusTag status={data.lastRunStatus} /></Descriptions.Item>
          <Descriptions.Item label={t('task.revision')}>{data.revision}</Descriptions.Item>
          <Descriptions.Item label={t('task.skippedFires')}>{data.skippedFires}</Descriptions.Item>
          <Descriptions.Item label={t('task.target')}><Typography.Text ellipsis style={{ maxWidth: 320 }} data-testid="task-target">{describeTarget(data.spec.target as Spec, t)}</Typography.Text></Descriptions.Item>
          <Descriptions.Item label={t('task.created')}><Instant value={data.createdAt} /></Descriptions.Item>
          <Descriptions.Item label={t('task.updated')}><Instant value={data.updatedAt} /></Descriptions.Item>
        </Descriptions>
      </Card>
      <Tabs items={[
        {
          key: 'runs', label: t('task.runs'),
          children: (
            <Space direction="vertical" style={{ width: '100%' }}>
              <RunsTable runs={runs.data?.items ?? []} loading={runs.isLoading} showTask={false} />
              <Link to={`/runs?taskId=${id}`}>{t('task.allRuns')}</Link>
            </Space>
          ),
        },
        { key: 'spec', label: t('task.spec'), children: <SpecView spec={data.spec as Spec} /> },
        { key: 'revisions', label: t('task.revisions'), children: <Revisions key={id} id={id} /> },
        { key: 'alerts', label: <span data-testid="task-alerts-tab">{t('alerts.taskRules.title')}</span>, children: <TaskAlertRules task={data} /> },
      ]} />
      <TriggerModal task={data} open={triggerOpen} onClose={() => setTriggerOpen(false)} onTriggered={(run) => navigate(`/runs/${run.id}`)} />
      {cloneOpen && (
        <CloneTaskModal task={data} onClose={() => setCloneOpen(false)} onCloned={(copy) => {
          setCloneOpen(false);
          message.success(t('task.cloned', { name: `${copy.namespace}/${copy.name}` }));
          void client.invalidateQueries({ queryKey: ['tasks'] });
          navigate(`/tasks/${copy.id}`);
        }} />
      )}
    </Space>
  );
}

function SpecView({ spec }: { spec: Spec }) {
  const { t } = useTranslation();
  const [format, setFormat] = useState<'yaml' | 'json'>('yaml');
  return (
    <Space direction="vertical" style={{ width: '100%' }}>
      <Select value={format} onChange={setFormat} style={{ width: 100 }} options={[{ value: 'yaml', label: 'YAML' }, { value: 'json', label: 'JSON' }]} aria-label={t('task.format')} />
      <pre style={{ margin: 0, padding: 12, background: '#f6f8fa', borderRadius: 6, overflow: 'auto', fontSize: 12 }}>{specToText(spec, format)}</pre>
    </Space>
  );
}

function Revisions({ id }: { id: string }) {
  const { t } = useTranslation();
  const revisions = useQuery({ queryKey: ['revisions', id], queryFn: () => api<{ items: TaskRevision[] }>('GET', `/tasks/${id}/revisions`) });
  const items = revisions.data?.items ?? [];
  const latest = items.at(-1)?.revision;
  const [pair, setPair] = useState<{ a?: number; b?: number }>({});
  if (revisions.error) return <ErrorView error={revisions.error} />;
  if (!items.length) return <Spin />;
  const a = pair.a ?? Math.max(1, (latest ?? 1) - 1);
  const b = pair.b ?? latest!;
  const options = items.map((r) => ({ value: r.revision, label: `#${r.revision} · ${new Date(r.createdAt).toISOString().slice(0, 19)}Z · ${r.actor}` }));
  const before = items.find((r) => r.revision === a);
  const after = items.find((r) => r.revision === b);
  return (
    <Space direction="vertical" style={{ width: '100%' }}>
      <Space wrap>
        <Select value={a} onChange={(v) => setPair((p) => ({ ...p, a: v }))} options={options} style={{ width: 320 }} aria-label={t('task.revisionA')} />
        <span>→</span>
        <Select value={b} onChange={(v) => setPair((p) => ({ ...p, b: v }))} options={options} style={{ width: 320 }} aria-label={t('task.revisionB')} />
      </Space>
      {items.length === 1 && <Typography.Text type="secondary">{t('task.oneRevision')}</Typography.Text>}
      {before && after && <SpecDiff before={before.spec} after={after.spec} />}
    </Space>
  );
}

function TriggerModal({ task, open, onClose, onTriggered }: { task: TaskResource; open: boolean; onClose(): void; onTriggered(run: RunResource): void }) {
  const { t } = useTranslation();
  const [text, setText] = useState('{}');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function trigger() {
    setError(null);
    let params: Record<string, unknown> | undefined;
    try {
      params = parseJsonObject(text, 'params');
    } catch (e) {
      setError((e as Error).message);
      return;
    }
    setBusy(true);
    try {
      const run = await api<RunResource>('POST', `/tasks/${task.id}/trigger`, params && Object.keys(params).length ? { params } : {});
      onClose();
      onTriggered(run);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  }
  return (
    <Modal open={open} title={t('task.triggerTitle', { name: task.name })} onCancel={onClose} onOk={trigger} okText={t('task.triggerOk')} confirmLoading={busy}
      cancelText={t('common.cancel')} okButtonProps={{ 'data-testid': 'trigger-ok' } as never}>
      <Space direction="vertical" style={{ width: '100%' }}>
        <Typography.Text type="secondary">{t('task.triggerHelp')}</Typography.Text>
        <Typography.Text>{t('task.taskParams')}</Typography.Text>
        <pre style={{ margin: 0, padding: 8, background: '#f6f8fa', fontSize: 12 }}>{JSON.stringify(task.spec.params ?? {}, null, 2)}</pre>
        <Typography.Text>{t('task.override')}</Typography.Text>
        <Input.TextArea aria-label={t('task.override')} data-testid="trigger-params" value={text} onChange={(e) => setText(e.target.value)} rows={5} style={{ fontFamily: 'monospace' }} />
        {error && <Alert type="error" showIcon message={error} />}
      </Space>
    </Modal>
  );
}
