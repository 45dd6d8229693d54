/** The audit log (admins of every namespace), newest first, filtered by action and resource id. */
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Input, Space, Table, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, qs, type AuditEntryResource, type Page } from '../api.ts';
import { ErrorView, Instant } from '../components/common.tsx';
import { Pager } from '../components/Pager.tsx';
import { useCursorPages } from '../components/useCursorPages.ts';

export default function Audit() {
  const { t } = useTranslation();
  const [filters, setFilters] = useState<{ action?: string; resourceId?: string }>({});
  const pages = useCursorPages();
  const audit = useQuery({
    queryKey: ['audit', filters, pages.cursor],
    queryFn: () => api<Page<AuditEntryResource>>('GET', `/audit${qs({ ...filters, cursor: pages.cursor, limit: 50 })}`),
    placeholderData: keepPreviousData,
  });
  if (audit.error) return <ErrorView error={audit.error} />;
  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      <Typography.Title level={3} style={{ margin: 0 }}>{t('audit.title')}</Typography.Title>
      <Space wrap>
        <Input.Search allowClear placeholder={t('audit.action')} aria-label={t('audit.action')} style={{ width: 200 }} onSearch={(v) => { pages.reset(); setFilters((f) => ({ ...f, action: v || undefined })); }} />
        <Input.Search allowClear placeholder={t('audit.resourceId')} aria-label={t('audit.resourceId')} style={{ width: 260 }} onSearch={(v) => { pages.reset(); setFilters((f) => ({ ...f, resourceId: v || undefined })); }} />
      </Space>
      <Table<AuditEntryResource>
        rowKey="id" size="small" pagination={false} loading={audit.isLoading} dataSource={audit.data?.items ?? []} scroll={{ x: 900 }}
        expandable={{ expandedRowRender: (entry) => <pre style={{ margin: 0, fontSize: 12 }}>{JSON.stringify(entry.details, null, 2)}</pre> }}
        columns={[
          { title: t('audit.at'), dataIndex: 'at', render: (v: string) => <Instant value={v} /> },
          { title: t('audit.actor'), dataIndex: 'actor' },
          { title: t('audit.action'), dataIndex: 'action', render: (v: string) => <Typography.Text code>{v}</Typography.Text> },
          { title: t('audit.resource'), key: 'resource', render: (_, e) => `${e.resourceType}${e.resourceId ? ` ${e.resourceId}` : ''}` },
        ]}
      />
      <Pager page={pages.page} hasNext={!!audit.data?.nextCursor} onPrevious={pages.previous} onNext={() => pages.next(audit.data?.nextCursor ?? null)} />
    </Space>
  );
}
