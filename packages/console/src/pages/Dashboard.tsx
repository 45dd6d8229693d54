/**
 * Tasks by state, runs by outcome over the last hour and day, success rate, fire lag, latest
 * failures. Fetched again when run and task events arrive (at most once a second), and every
 * minute besides (runs leave the windows without an event).
 */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Card, Col, Empty, List, Progress, Row, Space, Statistic, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { api, type Page, type RunResource, type Stats } from '../api.ts';
import { ErrorView, Instant, StatusTag } from '../components/common.tsx';
import { formatDuration } from '../format.ts';
import { useLiveRefresh, useSafetyRefresh } from '../use-events.ts';

const OUTCOMES = ['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'lost', 'running'];

/** Every event of runs and tasks, in every namespace the caller sees (the figures cover them all). */
const LIVE_FILTER = { types: ['run.*', 'task.*'] };
/** The ends of a run the latest failures list. */
const FAILURES = new Set(['run.failed', 'run.timed_out', 'run.lost']);

function useStats(window: '1h' | '24h', refetchInterval: number) {
  return useQuery({ queryKey: ['stats', window], queryFn: () => api<Stats>('GET', `/stats?window=${window}`), refetchInterval });
}

function RunsCard({ title, stats }: { title: string; stats: Stats | undefined }) {
  const { t } = useTranslation();
  const rate = stats?.runs.successRate;
  return (
    <Card title={title} size="small" style={{ height: '100%' }}>
      <Space align="start" size="large" wrap>
        <Progress type="circle" size={96} percent={rate === null || rate === undefined ? 0 : Math.round(rate * 1000) / 10}
          status={rate !== null && rate !== undefined && rate < 0.9 ? 'exception' : 'normal'}
          format={() => (rate === null || rate === undefined ? '—' : `${(rate * 100).toFixed(1)}%`)} />
        <div>
          <Statistic title={t('dashboard.runs')} value={stats?.runs.total ?? 0} />
          <Typography.Text type="secondary">{t('dashboard.successRate')}</Typography.Text>
        </div>
      </Space>
      <Row gutter={[8, 8]} style={{ marginTop: 12 }}>
        {OUTCOMES.map((status) => (
          <Col key={status} xs={12} sm={8}>
            <Space size={4}><StatusTag status={status} /><b data-testid={`${title}-${status}`}>{stats?.runs.byStatus[status] ?? 0}</b></Space>
          </Col>
        ))}
      </Row>
    </Card>
  );
}

export default function Dashboard() {
  const { t } = useTranslation();
  const client = useQueryClient();
  const refetchInterval = useSafetyRefresh();
  const hour = useStats('1h', refetchInterval);
  const day = useStats('24h', refetchInterval);
  // The stats count every run and task; the failures change only when a run fails.
  useLiveRefresh(LIVE_FILTER, () => void client.invalidateQueries({ queryKey: ['stats'] }), { throttleMs: 1000 });
  useLiveRefresh(LIVE_FILTER, () => void client.invalidateQueries({ queryKey: ['runs', 'failures'] }), { throttleMs: 1000, relevant: (e) => FAILURES.has(e.type) });
  const failures = useQuery({
    queryKey: ['runs', 'failures'],
    queryFn: async () => {
      const [failed, timedOut, lost] = await Promise.all(['failed', 'timed_out', 'lost'].map((status) => api<Page<RunResource>>('GET', `/runs?status=${status}&limit=8`)));
      return [...failed!.items, ...timedOut!.items, ...lost!.items].sort((a, b) => b.scheduledAt.localeCompare(a.scheduledAt)).slice(0, 8);
    },
    refetchInterval,
  });
  if (hour.error) return <ErrorView error={hour.error} />;
  const tasks = day.data?.tasks ?? hour.data?.tasks;
  const lag = hour.data?.fireLagMs;
  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      <Typography.Title level={3} style={{ margin: 0 }}>{t('dashboard.title')}</Typography.Title>
      <Row gutter={[16, 16]}>
        <Col xs={24} lg={8}>
          <Card title={t('dashboard.tasks')} size="small" style={{ height: '100%' }}>
            <Row gutter={8}>
              <Col span={6}><Statistic title={t('dashboard.total')} value={tasks?.total ?? 0} /></Col>
              {(['active', 'paused', 'completed'] as const).map((state) => (
                <Col span={6} key={state}><Statistic title={t(`status.${state}`)} value={tasks?.byState[state] ?? 0} /></Col>
              ))}
            </Row>
          </Card>
        </Col>
        <Col xs={24} lg={8}><RunsCard title={t('dashboard.lastHour')} stats={hour.data} /></Col>
        <Col xs={24} lg={8}><RunsCard title={t('dashboard.lastDay')} stats={day.data} /></Col>
      </Row>
      <Row gutter={[16, 16]}>
        <Col xs={24} lg={8}>
          <Card title={t('dashboard.fireLag')} size="small" extra={<Typography.Text type="secondary">{t('dashboard.lastHour')}</Typography.Text>}>
            <Row gutter={8}>
              <Col span={8}><Statistic title="p50" value={formatDuration(lag?.p50)} /></Col>
              <Col span={8}><Statistic title="p95" value={formatDuration(lag?.p95)} /></Col>
              <Col span={8}><Statistic title={t('dashboard.max')} value={formatDuration(lag?.max)} /></Col>
            </Row>
            <Typography.Text type="secondary" style={{ fontSize: 12 }}>{t('dashboard.fireLagHint', { count: lag?.count ?? 0 })}</Typography.Text>
          </Card>
        </Col>
        <Col xs={24} lg={16}>
          <Card title={t('dashboard.latestFailures')} size="small">
            {failures.data && failures.data.length === 0 ? <Empty description={t('dashboard.noFailures')} /> : (
              <List
                size="small"
                loading={failures.isLoading}
                dataSource={failures.data ?? []}
                renderItem={(run) => (
                  <List.Item>
                    <Space wrap>
                      <StatusTag status={run.status} />
                      <Link to={`/runs/${run.id}`} data-testid="failure-link">{run.namespace}/{run.taskName}</Link>
                      <Instant value={run.scheduledAt} />
                      <Typography.Text type="danger" ellipsis={{ tooltip: run.error }} style={{ maxWidth: 'min(360px, 75vw)' }}>{run.error}</Typography.Text>
                    </Space>
                  </List.Item>
                )}
              />
            )}
          </Card>
        </Col>
      </Row>
      <Typography.Text type="secondary" style={{ fontSize: 12 }}>{t('dashboard.live')}{hour.data?.truncated ? ` ${t('dashboard.truncated')}` : ''}</Typography.Text>
    </Space>
  );
}
