/** The workflow list: search by name, filter by namespace (the header's, or typed here when it shows all), state and last outcome, keyset pages; each with its schedule, node count, state, last run's status and next fire. */
import { PlusOutlined } from '@ant-design/icons';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Button, Input, Select, Space, Table, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { api, qs, type Page, type WorkflowResource } from '../api.ts';
import { useAuth } from '../auth.tsx';
import { useNamespace } from '../namespace.tsx';
import { ErrorView, Instant, StatusTag } from '../components/common.tsx';
import { Pager } from '../components/Pager.tsx';
import { useCursorPages } from '../components/useCursorPages.ts';
import { describeSchedule } from '../spec.ts';
import { WORKFLOW_RUN_STATUSES } from '../workflow/run.ts';

const PAGE_SIZE = 20;

export default function Workflows() {
  const { t } = useTranslation();
  const { can } = useAuth();
  const { namespace } = useNamespace();
  const [filters, setFilters] = useState<{ q?: string; namespace?: string; state?: string; lastRunStatus?: string }>({});
  const pages = useCursorPages();
  const query = useQuery({
    queryKey: ['workflows', namespace, filters, pages.cursor],
    queryFn: () => api<Page<WorkflowResource>>('GET', `/workflows${qs({ ...filters, namespace: namespace ?? filters.namespace, cursor: pages.cursor, limit: PAGE_SIZE })}`),
    placeholderData: keepPreviousData,
    refetchInterval: 10_000,
  });
  const setFilter = (key: keyof typeof filters, value: string | undefined) => {
    pages.reset();
    setFilters((f) => ({ ...f, [key]: value || undefined }));
  };

  if (query.error) return <ErrorView error={query.error} />;
  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <Space style={{ width: '100%', justifyContent: 'space-between' }} wrap>
        <Typography.Title level={3} style={{ margin: 0 }}>{t('workflows.title')}</Typography.Title>
        {can('editor', namespace) && <Link to="/workflows/new"><Button type="primary" icon={<PlusOutlined />} data-testid="new-workflow">{t('workflows.new')}</Button></Link>}
      </Space>
      <Space wrap>
        <Input.Search allowClear placeholder={t('workflows.searchName')} aria-label={t('workflows.searchName')} onSearch={(v) => setFilter('q', v)}
          style={{ width: 220 }} data-testid="workflow-search" />
        {namespace === null && (
          <Input.Search allowClear placeholder={t('common.namespace')} aria-label={t('common.namespace')} onSearch={(v) => setFilter('namespace', v)} style={{ width: 180 }} />
        )}
        <Select allowClear placeholder={t('workflows.state')} aria-label={t('workflows.state')} style={{ width: 140 }} onChange={(v: string | undefined) => setFilter('state', v)}
          options={['active', 'paused', 'completed'].map((s) => ({ value: s, label: t(`status.${s}`) }))} />
        <Select allowClear placeholder={t('workflows.lastOutcome')} aria-label={t('workflows.lastOutcome')} style={{ width: 160 }} onChange={(v: string | undefined) => setFilter('lastRunStatus', v)}
          options={WORKFLOW_RUN_STATUSES.map((s) => ({ value: s, label: t(`status.${s}`) }))} />
      </Space>
      <Table<WorkflowResource>
        rowKey="id"
        size="small"
        loading={query.isLoading}
        dataSource={query.data?.items ?? []}
        pagination={false}
        scroll={{ x: true }}
        data-testid="workflows-table"
        columns={[
          { title: t('common.namespace'), dataIndex: 'namespace', width: 120 },
          {
            title: t('common.name'), dataIndex: 'name',
            render: (name: string, workflow) => (
              <div style={{ minWidth: 160 }}>
                <Link to={`/workflows/${workflow.id}`} data-testid="workflow-link">{name}</Link>
                {workflow.spec.description && (
                  <Typography.Text type="secondary" ellipsis={{ tooltip: workflow.spec.description }} style={{ display: 'block', maxWidth: 320, fontSize: 12 }}>
                    {workflow.spec.description}
                  </Typography.Text>
                )}
              </div>
            ),
          },
          { title: t('workflows.schedule'), render: (_, workflow) => <Typography.Text code>{describeSchedule(workflow.spec.schedule, t)}</Typography.Text> },
          { title: t('workflows.nodes'), width: 80, render: (_, workflow) => (Array.isArray(workflow.spec.nodes) ? workflow.spec.nodes.length : '—') },
          { title: t('workflows.state'), dataIndex: 'state', width: 110, render: (s: string) => <StatusTag status={s} /> },
          { title: t('workflows.lastOutcome'), dataIndex: 'lastRunStatus', width: 120, render: (s: string | null) => <StatusTag status={s} /> },
          { title: t('workflows.nextFire'), dataIndex: 'nextFireAt', render: (v: string | null) => <Instant value={v} /> },
        ]}
      />
      <Pager page={pages.page} hasNext={!!query.data?.nextCursor} onPrevious={pages.previous} onNext={() => pages.next(query.data?.nextCursor ?? null)} />
    </Space>
  );
}
