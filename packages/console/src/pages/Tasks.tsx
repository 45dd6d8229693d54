/**
 * The task list: search by name, filter by namespace (the header's, or typed here when the header
 * shows all), state and last outcome, keyset pages, and bulk
 * pause, resume, trigger and delete of the selected rows (one call to `POST /api/v1/tasks:<action>`).
 */
import { DeleteOutlined, PauseCircleOutlined, PlayCircleOutlined, PlusOutlined, ThunderboltOutlined } from '@ant-design/icons';
import type { BulkActionResponse, BulkTaskActionName } from '@ecron/contracts';
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Input, Popconfirm, Select, Space, Table, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { api, qs, RUN_STATUSES, type Page, type TaskResource } from '../api.ts';
import { useAuth } from '../auth.tsx';
import { useNamespace } from '../namespace.tsx';
import { ErrorView, errorMessage, Instant, StatusTag } from '../components/common.tsx';
import { Pager } from '../components/Pager.tsx';
import { useCursorPages } from '../components/useCursorPages.ts';
import { describeSchedule } from '../spec.ts';

const PAGE_SIZE = 20;

export default function Tasks() {
  const { t } = useTranslation();
  const { can } = useAuth();
  const { message } = App.useApp();
  const client = useQueryClient();
  const { namespace } = useNamespace();
  const [filters, setFilters] = useState<{ q?: string; namespace?: string; state?: string; lastRunStatus?: string }>({});
  const [selected, setSelected] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const pages = useCursorPages();
  const query = useQuery({
    queryKey: ['tasks', namespace, filters, pages.cursor],
    queryFn: () => api<Page<TaskResource>>('GET', `/tasks${qs({ ...filters, namespace: namespace ?? filters.namespace, cursor: pages.cursor, limit: PAGE_SIZE })}`),
    placeholderData: keepPreviousData,
    refetchInterval: 10_000,
  });
  const setFilter = (key: keyof typeof filters, value: string | undefined) => {
    pages.reset();
    setFilters((f) => ({ ...f, [key]: value || undefined }));
  };

  async function bulk(action: BulkTaskActionName) {
    setBusy(true);
    try {
      const { items } = await api<BulkActionResponse>('POST', `/tasks:${action}`, { ids: selected });
      const failed = items.flatMap((item) => ('error' in item ? [item.error] : []));
      if (failed.length) message.error(t('tasks.bulkFailed', { count: failed.length, message: `${failed[0]!.code}: ${failed[0]!.message}` }));
      else message.success(t(`tasks.bulkDone.${action}`, { count: items.length }));
      setSelected([]);
    } catch (error) {
      message.error(errorMessage(error));
    } finally {
      setBusy(false);
    }
    await client.invalidateQueries({ queryKey: ['tasks'] });
  }

  if (query.error) return <ErrorView error={query.error} />;
  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      <Space style={{ width: '100%', justifyContent: 'space-between' }} wrap>
        <Typography.Title level={3} style={{ margin: 0 }}>{t('tasks.title')}</Typography.Title>
        {can('editor', namespace) && <Link to="/tasks/new"><Button type="primary" icon={<PlusOutlined />} data-testid="new-task">{t('tasks.new')}</Button></Link>}
      </Space>
      <Space wrap>
        <Input.Search allowClear placeholder={t('tasks.searchName')} aria-label={t('tasks.searchName')} onSearch={(v) => setFilter('q', v)} style={{ width: 220 }} data-testid="task-search" />
        {namespace === null && (
          <Input.Search allowClear placeholder={t('common.namespace')} aria-label={t('common.namespace')} onSearch={(v) => setFilter('namespace', v)} style={{ width: 180 }} />
        )}
        <Select allowClear placeholder={t('tasks.state')} aria-label={t('tasks.state')} style={{ width: 140 }} onChange={(v) => setFilter('state', v)}
          options={['active', 'paused', 'completed'].map((s) => ({ value: s, label: t(`status.${s}`) }))} />
        <Select allowClear placeholder={t('tasks.lastOutcome')} aria-label={t('tasks.lastOutcome')} style={{ width: 160 }} onChange={(v) => setFilter('lastRunStatus', v)}
          options={RUN_STATUSES.map((s) => ({ value: s, label: t(`status.${s}`) }))} />
      </Space>
      {can('operator', namespace) && (
        <Space wrap>
          <Typography.Text type="secondary">{t('tasks.selected', { count: selected.length })}</Typography.Text>
          <Button icon={<PauseCircleOutlined />} disabled={!selected.length} loading={busy} onClick={() => bulk('pause')}>{t('tasks.pauseSelected')}</Button>
          <Button icon={<PlayCircleOutlined />} disabled={!selected.length} loading={busy} onClick={() => bulk('resume')}>{t('tasks.resumeSelected')}</Button>
          <Button icon={<ThunderboltOutlined />} disabled={!selected.length} loading={busy} onClick={() => bulk('trigger')} data-testid="bulk-trigger">{t('tasks.triggerSelected')}</Button>
          {can('editor', namespace) && (
            <Popconfirm title={t('tasks.deleteSelectedConfirm', { count: selected.length })} okText={t('tasks.deleteSelected')} okButtonProps={{ danger: true }}
              cancelText={t('common.back')} onConfirm={() => bulk('delete')} disabled={!selected.length}>
              <Button danger icon={<DeleteOutlined />} disabled={!selected.length} loading={busy} data-testid="bulk-delete">{t('tasks.deleteSelected')}</Button>
            </Popconfirm>
          )}
        </Space>
      )}
      <Table<TaskResource>
        rowKey="id"
        size="small"
        loading={query.isLoading}
        dataSource={query.data?.items ?? []}
        pagination={false}
        scroll={{ x: true }}
        rowSelection={can('operator', namespace) ? { selectedRowKeys: selected, onChange: (keys) => setSelected(keys as string[]) } : undefined}
        columns={[
          { title: t('common.namespace'), dataIndex: 'namespace', width: 120 },
          {
            // The description under the name, on one line, whole in a tooltip.
            title: t('common.name'), dataIndex: 'name',
            render: (name: string, task) => (
              <div style={{ minWidth: 160 }}>
                <Link to={`/tasks/${task.id}`}>{name}</Link>
                {task.spec.description && (
                  <Typography.Text type="secondary" ellipsis={{ tooltip: task.spec.description }} style={{ display: 'block', maxWidth: 320, fontSize: 12 }} data-testid="task-description">
                    {task.spec.description}
                  </Typography.Text>
                )}
              </div>
            ),
          },
          { title: t('tasks.schedule'), render: (_, task) => <Typography.Text code>{describeSchedule(task.spec.schedule as never, t)}</Typography.Text> },
          { title: t('tasks.state'), dataIndex: 'state', width: 110, render: (s: string) => <StatusTag status={s} /> },
          { title: t('tasks.lastOutcome'), dataIndex: 'lastRunStatus', width: 120, render: (s: string | null) => <StatusTag status={s} /> },
          { title: t('tasks.nextFire'), dataIndex: 'nextFireAt', render: (v: string | null) => <Instant value={v} /> },
        ]}
      />
      <Pager page={pages.page} hasNext={!!query.data?.nextCursor} onPrevious={pages.previous} onNext={() => pages.next(query.data?.nextCursor ?? null)} />
    </Space>
  );
}
