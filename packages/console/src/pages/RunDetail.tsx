/**
 * A run: status, params, output and error; its fire lag (scheduled instant to the first attempt's
 * send); its attempts as a timeline (executor node, when, when sent, how long, why it failed); a
 * fan-out's legs (the output's `shards` or `legs`) as a table; its log, streamed live until the
 * run ends (`logs?follow=1`, see `log-stream.ts`); cancel an active run, run a finished one again.
 * While it runs, its events (`use-events.ts`) keep the page current: a progress report is patched
 * in, any other change fetches the run again.
 * An unknown id shows a "no run with this id" screen.
 */
import { QuestionCircleOutlined, RedoOutlined, StopOutlined } from '@ant-design/icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Card, Col, Descriptions, Empty, Popconfirm, Progress, Result, Row, Space, Spin, Table, Tag, Timeline, Tooltip, Typography } from 'antd';
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { api, ApiError, FINAL_STATUSES, type RunLogResource, type RunResource } from '../api.ts';
import { useAuth } from '../auth.tsx';
import { streamRunLog } from '../log-stream.ts';
import { patchRun } from '../event-stream.ts';
import { useLiveRefresh, useSafetyRefresh } from '../use-events.ts';
import { ErrorView, errorMessage, Instant, Json, StatusTag } from '../components/common.tsx';
import { RerunModal } from '../components/RerunModal.tsx';
import { MapProgress } from '../components/MapProgress.tsx';
import { durationBetween, formatDuration, formatInstant } from '../format.ts';

const TIMELINE_COLORS: Record<string, string> = { succeeded: 'green', failed: 'red', timed_out: 'red', lost: 'red', cancelled: 'gray', running: 'blue', dispatched: 'blue' };
const LEVEL_COLORS: Record<string, string> = { debug: '#8c8c8c', info: '#d9d9d9', warn: '#faad14', error: '#ff7875' };

export default function RunDetail() {
  const { id } = useParams() as { id: string };
  const { t } = useTranslation();
  const { can } = useAuth();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const client = useQueryClient();
  const [cancelling, setCancelling] = useState(false);
  const [rerunOpen, setRerunOpen] = useState(false);
  const safety = useSafetyRefresh();
  const run = useQuery({
    queryKey: ['run', id],
    queryFn: () => api<RunResource>('GET', `/runs/${encodeURIComponent(id)}`),
    // Live from its events until it ends, with a slow safety refresh; a refused or unknown id is not asked again.
    refetchInterval: (query) => ((query.state.data && FINAL_STATUSES.includes(query.state.data.status)) || isMissing(query.state.error) ? false : safety),
  });
  const active = !!run.data && !FINAL_STATUSES.includes(run.data.status);
  const ended = !!run.data && !active;
  // Its events while it may still change: a progress report patches the page, any other change fetches it again.
  useLiveRefresh(ended || isMissing(run.error) ? null : { runId: id }, () => void client.invalidateQueries({ queryKey: ['run', id] }), {
    relevant: (event) => event.type !== 'run.progress',
    onEvents: (events) => client.setQueryData<RunResource>(['run', id], (shown) => (shown ? patchRun(shown, events) : shown)),
  });

  async function cancel() {
    setCancelling(true);
    try {
      client.setQueryData(['run', id], await api<RunResource>('POST', `/runs/${id}/cancel`));
      message.success(t('run.cancelRequested'));
    } catch (error) {
      message.error(errorMessage(error));
    } finally {
      setCancelling(false);
    }
  }

  if (isMissing(run.error)) return <RunNotFound id={id} />;
  if (run.error) return <ErrorView error={run.error} />;
  if (!run.data) return <Spin />;
  const data = run.data;
  const first = data.attempts.reduce<RunResource['attempts'][number] | undefined>((earliest, a) => (!earliest || a.number < earliest.number ? a : earliest), undefined);
  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      <Space style={{ width: '100%', justifyContent: 'space-between' }} wrap>
        <Space wrap>
          <Typography.Title level={3} style={{ margin: 0 }}>{t('run.title')}</Typography.Title>
          <span data-testid="run-status"><StatusTag status={data.status} /></span>
          <Link to={`/tasks/${data.taskId}`}>{data.namespace}/{data.taskName}</Link>
          {data.workflowRunId && (
            <Link to={`/workflow-runs/${data.workflowRunId}`} data-testid="run-workflow-run">{t('workflowRun.partOf', { node: data.nodeId ?? '?' })}</Link>
          )}
        </Space>
        {can('operator', run.data?.namespace) && active && (
          <Popconfirm title={t('run.cancelConfirm')} okText={t('run.cancel')} cancelText={t('common.back')} okButtonProps={{ danger: true, 'data-testid': 'cancel-ok' } as never} onConfirm={cancel}>
            <Button danger icon={<StopOutlined />} loading={cancelling} data-testid="cancel-run">{t('run.cancel')}</Button>
          </Popconfirm>
        )}
        {can('operator', run.data?.namespace) && !active && <Button icon={<RedoOutlined />} onClick={() => setRerunOpen(true)} data-testid="rerun">{t('run.rerun')}</Button>}
      </Space>
      {data.error && <Alert type="error" showIcon message={t('run.error')} description={<span data-testid="run-error">{data.error}</span>} />}
      <Card size="small">
        <Descriptions size="small" column={{ xs: 1, sm: 1, md: 2, xxl: 3 }}>
          <Descriptions.Item label="ID"><Typography.Text copyable style={{ fontSize: 12 }}>{data.id}</Typography.Text></Descriptions.Item>
          <Descriptions.Item label={t('runs.trigger')}>{t(`runs.triggers.${data.trigger}`)}</Descriptions.Item>
          <Descriptions.Item label={t('task.revision')}>{data.taskRevision}</Descriptions.Item>
          <Descriptions.Item label={t('runs.scheduledAt')}><Instant value={data.scheduledAt} ms /></Descriptions.Item>
          <Descriptions.Item label={t('run.startedAt')}><Instant value={data.startedAt} ms /></Descriptions.Item>
          <Descriptions.Item label={t('run.finishedAt')}><Instant value={data.finishedAt} ms /></Descriptions.Item>
          <Descriptions.Item label={t('runs.duration')}>{formatDuration(durationBetween(data.startedAt, data.finishedAt))}</Descriptions.Item>
          <Descriptions.Item label={<Tooltip title={t('run.fireLagHint')}><span data-testid="fire-lag-label">{t('run.fireLag')} <QuestionCircleOutlined /></span></Tooltip>}>
            <span data-testid="fire-lag">{data.trigger === 'schedule' && first?.sentAt ? formatDuration(durationBetween(data.scheduledAt, first.sentAt)) : '—'}</span>
          </Descriptions.Item>
          <Descriptions.Item label={t('run.progress')}>{data.progress === null ? '—' : <Progress percent={data.progress} size="small" style={{ width: 160 }} />}</Descriptions.Item>
          {data.nextAttemptAt && <Descriptions.Item label={t('run.nextAttempt')}><Instant value={data.nextAttemptAt} /></Descriptions.Item>}
        </Descriptions>
      </Card>
      {data.map && <MapProgress map={data.map} />}
      <Row gutter={[16, 16]}>
        <Col xs={24} lg={10}>
          <Card size="small" title={t('run.attempts', { count: data.attempts.length })}>
            {data.attempts.length === 0 ? <Empty description={t('run.noAttempts')} /> : (
              <Timeline
                data-testid="attempts"
                items={data.attempts.map((a) => ({
                  color: TIMELINE_COLORS[a.status] ?? 'gray',
                  children: (
                    <Space direction="vertical" size={0}>
                      <Space wrap><b>{t('run.attempt', { number: a.number })}</b><StatusTag status={a.status} /></Space>
                      <Typography.Text type="secondary" style={{ fontSize: 12 }} data-testid="attempt-executor">
                        {t('run.executor')}: {a.executor ? <Typography.Text code style={{ fontSize: 12 }}>{a.executor}</Typography.Text> : '—'}
                      </Typography.Text>
                      <Typography.Text style={{ fontSize: 12 }}>{formatInstant(a.startedAt, undefined, true)} · {formatDuration(durationBetween(a.startedAt, a.finishedAt))}{a.finishedAt ? '' : ` (${t('run.ongoing')})`}</Typography.Text>
                      {a.sentAt && <Typography.Text type="secondary" style={{ fontSize: 12 }} data-testid="attempt-sent">{t('run.sentAt')}: {formatInstant(a.sentAt, undefined, true)}</Typography.Text>}
                      {a.error && <Typography.Text type="danger" style={{ fontSize: 12 }}>{a.error}</Typography.Text>}
                    </Space>
                  ),
                }))}
              />
            )}
          </Card>
        </Col>
        <Col xs={24} lg={14}>
          <Space direction="vertical" style={{ width: '100%' }}>
            <Card size="small" title={t('run.params')}><Json value={data.params} /></Card>
            <FanOutLegs output={data.output} />
            <Card size="small" title={t('run.output')}>{data.output === null || data.output === undefined ? <Typography.Text type="secondary">—</Typography.Text> : <div data-testid="run-output"><Json value={data.output} /></div>}</Card>
          </Space>
        </Col>
      </Row>
      <RunLog key={id} runId={id} active={active} onEnd={() => void client.invalidateQueries({ queryKey: ['run', id] })} />
      {rerunOpen && (
        <RerunModal run={data} onClose={() => setRerunOpen(false)} onStarted={(started) => {
          setRerunOpen(false);
          message.success(t('run.rerunStarted'));
          navigate(`/runs/${started.id}`);
        }} />
      )}
    </Space>
  );
}

/** No run has this id for the caller (404), or it is no id at all (the API refuses it: 400). */
function isMissing(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 404 || (error.status === 400 && error.code === 'VALIDATION_FAILED'));
}

function RunNotFound({ id }: { id: string }) {
  const { t } = useTranslation();
  return (
    <Result status="404" title={<span data-testid="run-not-found">{t('run.notFoundTitle')}</span>}
      subTitle={<span style={{ overflowWrap: 'anywhere' }}>{t('run.notFound', { id })}</span>}
      extra={<Link to="/runs"><Button type="primary">{t('run.allRuns')}</Button></Link>} />
  );
}

/** One request of a fan-out attempt, as the run's output lists it. */
interface Leg {
  index: number;
  node: string | null;
  status: string;
  tries: number;
  output?: unknown;
  error?: string;
}

/** The legs of a broadcast, multicast or sharded run (`output.legs` or `output.shards`); nothing for other runs. */
function FanOutLegs({ output }: { output: unknown }) {
  const { t } = useTranslation();
  const record = typeof output === 'object' && output !== null ? output as { shards?: unknown; legs?: unknown } : {};
  const kind = Array.isArray(record.shards) ? 'shards' : Array.isArray(record.legs) ? 'legs' : null;
  if (!kind) return null;
  const legs = (record[kind] as Leg[]).filter((leg) => typeof leg === 'object' && leg !== null);
  return (
    <Card size="small" title={t(`run.${kind}`, { count: legs.length })}>
      <Table<Leg>
        rowKey="index" size="small" pagination={false} dataSource={legs} scroll={{ x: true }} data-testid="run-legs"
        columns={[
          { title: '#', dataIndex: 'index', width: 56 },
          { title: t('run.node'), dataIndex: 'node', render: (node: string | null) => (node ? <Typography.Text code style={{ whiteSpace: 'nowrap' }}>{node}</Typography.Text> : '—') },
          { title: t('runs.status'), dataIndex: 'status', render: (status: string) => <StatusTag status={status} /> },
          { title: t('run.tries'), dataIndex: 'tries', width: 72 },
          {
            title: t('run.outputOrError'), key: 'result',
            render: (_, leg) => (leg.error
              ? <Typography.Text type="danger" style={{ fontSize: 12 }}>{leg.error}</Typography.Text>
              : <LegOutput value={leg.output} />),
          },
        ]}
      />
    </Card>
  );
}

function LegOutput({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <Typography.Text type="secondary">—</Typography.Text>;
  const text = JSON.stringify(value);
  return (
    <Tooltip title={<pre style={{ margin: 0, maxHeight: 300, overflow: 'auto', fontSize: 12 }}>{JSON.stringify(value, null, 2)}</pre>}>
      <Typography.Text code style={{ fontSize: 12 }}>{text.length > 80 ? `${text.slice(0, 79)}…` : text}</Typography.Text>
    </Tooltip>
  );
}

function RunLog({ runId, active, onEnd }: { runId: string; active: boolean; onEnd: () => void }) {
  const { t } = useTranslation();
  const [lines, setLines] = useState<RunLogResource[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [ended, setEnded] = useState(false);
  /** The last line shown: a stream opened again (remount, reconnect) resumes after it. */
  const lastSeq = useRef(0);
  const box = useRef<HTMLPreElement>(null);
  const endRef = useRef(onEnd);
  endRef.current = onEnd;

  // One stream per run, open until the run's end or until the page is left.
  useEffect(() => {
    const controller = new AbortController();
    streamRunLog(runId, {
      afterSeq: lastSeq.current,
      signal: controller.signal,
      onLines: (batch) => {
        lastSeq.current = batch.at(-1)!.seq;
        setLines((shown) => [...shown, ...batch]);
        setError(null);
      },
    }).then((end) => {
      if (!end) return;
      setEnded(true);
      endRef.current();
    }, (e: unknown) => {
      if (!controller.signal.aborted) setError(e);
    });
    return () => controller.abort();
  }, [runId]);

  useEffect(() => {
    if (box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [lines]);

  return (
    <Card size="small" title={<Space>{t('run.log')}{active && !ended && error === null && <Tag color="processing" data-testid="live-tail">{t('run.liveTail')}</Tag>}</Space>}>
      {error !== null && <ErrorView error={error} />}
      {lines.length === 0 ? <Typography.Text type="secondary">{active && !ended ? t('run.waitingForLog') : t('run.noLog')}</Typography.Text> : (
        <pre ref={box} data-testid="run-log" style={{ margin: 0, padding: 12, background: '#141414', color: '#d9d9d9', borderRadius: 6, maxHeight: 420, overflow: 'auto', fontSize: 12, whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>
          {lines.map((line) => (
            <div key={`${line.attempt}-${line.seq}`}>
              <span style={{ color: '#8c8c8c' }}>{formatInstant(line.at, undefined, true)} #{line.attempt} </span>
              <span style={{ color: LEVEL_COLORS[line.level] }}>{line.level.toUpperCase().padEnd(5)} </span>
              <span>{line.message}</span>
            </div>
          ))}
        </pre>
      )}
    </Card>
  );
}
