/** A table of workflow runs: status (a link to the run), trigger, revision, scheduled, started, duration, error. */
import { Table, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import type { WorkflowRunResource } from '../../api.ts';
import { durationBetween, formatDuration } from '../../format.ts';
import { Instant, StatusTag } from '../common.tsx';

export function WorkflowRunsTable({ runs, loading }: { runs: WorkflowRunResource[]; loading?: boolean }) {
  const { t } = useTranslation();
  return (
    <Table<WorkflowRunResource>
      rowKey="id"
      size="small"
      loading={loading}
      dataSource={runs}
      pagination={false}
      scroll={{ x: true }}
      data-testid="workflow-runs-table"
      locale={{ emptyText: t('workflow.noRuns') }}
      columns={[
        { title: t('runs.status'), dataIndex: 'status', width: 110, render: (s: string, run) => <Link to={`/workflow-runs/${run.id}`} data-testid="workflow-run-link"><StatusTag status={s} /></Link> },
        { title: t('runs.trigger'), dataIndex: 'trigger', width: 100, render: (v: string) => t(`runs.triggers.${v}`, { defaultValue: v }) },
        { title: t('workflow.revision'), dataIndex: 'revision', width: 80 },
        { title: t('runs.scheduledAt'), dataIndex: 'scheduledAt', render: (v: string, run) => <Link to={`/workflow-runs/${run.id}`}><Instant value={v} /></Link> },
        { title: t('run.startedAt'), dataIndex: 'startedAt', render: (v: string | null) => <Instant value={v} /> },
        { title: t('runs.duration'), key: 'duration', width: 100, render: (_, run) => formatDuration(durationBetween(run.startedAt, run.finishedAt)) },
        { title: t('runs.error'), dataIndex: 'error', render: (e: string | null) => <Typography.Text type="danger" ellipsis={{ tooltip: e }} style={{ maxWidth: 280 }}>{e}</Typography.Text> },
      ]}
    />
  );
}
