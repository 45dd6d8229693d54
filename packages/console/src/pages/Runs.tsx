/**
 * Runs, newest first, of the header's namespace (or all), filtered by task, status and a time range
 * (by scheduled instant). Fetched again when an event of a run of that namespace (and task) arrives,
 * at most every 500 ms, and every minute besides. A run id pasted in opens that run.
 */
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { DatePicker, Input, Select, Space, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useNavigate, useSearchParams } from 'react-router-dom';
import { api, qs, RUN_STATUSES, type Page, type RunResource, type TaskResource } from '../api.ts';
import { ErrorView } from '../components/common.tsx';
import { Pager } from '../components/Pager.tsx';
import { RunsTable } from '../components/RunsTable.tsx';
import { useCursorPages } from '../components/useCursorPages.ts';
import { viewerZone } from '../format.ts';
import { useNamespace } from '../namespace.tsx';
import { useLiveRefresh, useSafetyRefresh } from '../use-events.ts';

export default function Runs() {
  const { t } = useTranslation();
  const [search, setSearch] = useSearchParams();
  const navigate = useNavigate();
  const client = useQueryClient();
  const { namespace } = useNamespace();
  const taskId = search.get('taskId') ?? undefined;
  const status = search.get('status') ?? undefined;
  const [range, setRange] = useState<{ from?: string; to?: string }>({});
  const [taskSearch, setTaskSearch] = useState('');
  const pages = useCursorPages();
  const tasks = useQuery({
    queryKey: ['tasks', 'pick', namespace, taskSearch],
    queryFn: () => api<Page<TaskResource>>('GET', `/tasks${qs({ namespace, q: taskSearch, limit: 50 })}`),
  });
  const runs = useQuery({
    queryKey: ['runs', namespace, taskId, status, range, pages.cursor],
    queryFn: () => api<Page<RunResource>>('GET', `/runs${qs({ namespace, taskId, status, ...range, cursor: pages.cursor, limit: 50 })}`),
    placeholderData: keepPreviousData,
    refetchInterval: useSafetyRefresh(),
  });
  // Any run event may change the page: a new run, a status that enters or leaves the filter.
  useLiveRefresh({ namespace, types: ['run.*'], taskId }, () => void client.invalidateQueries({ queryKey: ['runs', namespace] }));
  const set = (key: string, value: string | undefined) => {
    pages.reset();
    const next = new URLSearchParams(search);
    if (value) next.set(key, value); else next.delete(key);
    setSearch(next);
  };
  if (runs.error) return <ErrorView error={runs.error} />;
  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      <Space style={{ width: '100%', justifyContent: 'space-between' }} wrap>
        <Typography.Title level={3} style={{ margin: 0 }}>{t('runs.title')}</Typography.Title>
        <Input.Search allowClear placeholder={t('runs.runId')} aria-label={t('runs.runId')} style={{ width: 280, maxWidth: '100%' }} data-testid="run-id-search"
          onSearch={(value) => { const id = value.trim(); if (id) navigate(`/runs/${encodeURIComponent(id)}`); }} />
      </Space>
      <Space wrap>
        <Select allowClear showSearch filterOption={false} onSearch={setTaskSearch} placeholder={t('runs.task')} aria-label={t('runs.task')} style={{ width: 240 }}
          value={taskId} onChange={(v) => set('taskId', v)}
          options={(tasks.data?.items ?? []).map((task) => ({ value: task.id, label: `${task.namespace}/${task.name}` }))} />
        <Select allowClear placeholder={t('runs.status')} aria-label={t('runs.status')} style={{ width: 150 }} value={status} onChange={(v) => set('status', v)}
          options={RUN_STATUSES.map((s) => ({ value: s, label: t(`status.${s}`) }))} />
        <DatePicker.RangePicker showTime aria-label={t('runs.range')}
          onChange={(values) => { pages.reset(); setRange({ from: values?.[0]?.toISOString(), to: values?.[1]?.toISOString() }); }} />
        <Typography.Text type="secondary">{t('header.zone', { zone: viewerZone() })}</Typography.Text>
      </Space>
      <RunsTable runs={runs.data?.items ?? []} loading={runs.isLoading} />
      <Pager page={pages.page} hasNext={!!runs.data?.nextCursor} onPrevious={pages.previous} onNext={() => pages.next(runs.data?.nextCursor ?? null)} />
    </Space>
  );
}
