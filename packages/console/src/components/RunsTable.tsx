/** A table of runs: status, task, trigger, scheduled, started, duration, attempts, error. */
import { Table, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import type { RunResource } from '../api.ts';
import { durationBetween, formatDuration } from '../format.ts';
import { Instant, StatusTag } from './common.tsx';

export function RunsTable({ runs, loading, showTask = true }: { runs: RunResource[]; loading?: boolean; showTask?: boolean }) {
  const { t } = useTranslation();
  return (
    <Table<RunResource>
      rowKey="id"
      size="small"
      loading={loading}
      dataSource={runs}
      pagination={false}
      scroll={{ x: true }}
      data-testid="runs-table"
      columns={[
        { title: t('runs.status'), dataIndex: 'status', width: 110, render: (s: string, run) => <Link to={`/runs/${run.id}`} data-testid="run-link"><StatusTag status={s} /></Link> },
        ...(showTask ? [{ title: t('runs.task'), key: 'task', render: (_: unknown, run: RunResource) => <Link to={`/tasks/${run.taskId}`}>{run.namespace}/{run.taskName}</Link> }] : []),
        { title: t('runs.trigger'), dataIndex: 'trigger', width: 100, render: (v: string) => t(`runs.triggers.${v}`) },
        { title: t('runs.scheduledAt'), dataIndex: 'scheduledAt', render: (v: string, run) => <Link to={`/runs/${run.id}`}><Instant value={v} /></Link> },
        { title: t('runs.duration'), key: 'duration', width: 100, render: (_, run) => formatDuration(durationBetween(run.startedAt, run.finishedAt)) },
        { title: t('runs.attempts'), dataIndex: 'attempt', width: 90 },
        { title: t('runs.error'), dataIndex: 'error', render: (e: string | null) => <Typography.Text type="danger" ellipsis={{ tooltip: e }} style={{ maxWidth: 280 }}>{e}</Typography.Text> },
      ]}
    />
  );
}
