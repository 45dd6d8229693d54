/**
 * The audit log (admins of every namespace), newest first, filtered by action and resource id.
 * Actors are named by their token's name (the API's `actorName`); actions by their label in the
 * viewer's language, the code in a tooltip; tasks, runs and tokens link to their pages.
 */
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Input, Select, Space, Table, Tooltip, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { api, qs, type AuditEntryResource, type Page } from '../api.ts';
import { ErrorView, Instant, NOWRAP } from '../components/common.tsx';
import { Pager } from '../components/Pager.tsx';
import { useCursorPages } from '../components/useCursorPages.ts';

/** Every action the server records (`audit.actions.*` labels them); an unknown one shows its code. */
const AUDIT_ACTIONS = [
  'task.create', 'task.update', 'task.pause', 'task.resume', 'task.delete', 'task.trigger',
  'run.cancel', 'run.rerun', 'token.create', 'token.revoke', 'namespace.create', 'namespace.update', 'namespace.delete',
  'session.create', 'session.delete', 'session.refused',
] as const;

export default function Audit() {
  const { t } = useTranslation();
  const [filters, setFilters] = useState<{ action?: string; resourceId?: string }>({});
  const pages = useCursorPages();
  const audit = useQuery({
    queryKey: ['audit', filters, pages.cursor],
    queryFn: () => api<Page<AuditEntryResource>>('GET', `/audit${qs({ ...filters, cursor: pages.cursor, limit: 50 })}`),
    placeholderData: keepPreviousData,
  });
  const actionLabel = (code: string) => t(`audit.actions.${code}`, { defaultValue: code });
  if (audit.error) return <ErrorView error={audit.error} />;
  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <Typography.Title level={3} style={{ margin: 0 }}>{t('audit.title')}</Typography.Title>
      <Space wrap>
        <Select allowClear showSearch optionFilterProp="label" placeholder={t('audit.action')} aria-label={t('audit.action')} style={{ width: 220 }}
          options={AUDIT_ACTIONS.map((code) => ({ value: code, label: `${actionLabel(code)} (${code})` }))}
          onChange={(v?: string) => { pages.reset(); setFilters((f) => ({ ...f, action: v || undefined })); }} />
        <Input.Search allowClear placeholder={t('audit.resourceId')} aria-label={t('audit.resourceId')} style={{ width: 260, maxWidth: '100%' }} onSearch={(v) => { pages.reset(); setFilters((f) => ({ ...f, resourceId: v || undefined })); }} />
      </Space>
      <Table<AuditEntryResource>
        rowKey="id" size="small" pagination={false} loading={audit.isLoading} dataSource={audit.data?.items ?? []} scroll={{ x: true }} data-testid="audit-table"
        expandable={{ expandedRowRender: (entry) => <pre style={{ margin: 0, fontSize: 12 }}>{JSON.stringify(entry.details, null, 2)}</pre> }}
        columns={[
          { title: t('audit.at'), dataIndex: 'at', render: (v: string) => <Instant value={v} /> },
          {
            title: t('audit.actor'), dataIndex: 'actor',
            render: (actor: string, entry) => (
              <Tooltip title={actor}>
                <span style={NOWRAP} data-testid="audit-actor">{entry.actorName ?? (actor === 'system' ? t('audit.system') : actor)}</span>
              </Tooltip>
            ),
          },
          {
            title: t('audit.action'), dataIndex: 'action',
            render: (code: string) => (
              <Tooltip title={code}>
                <span style={NOWRAP} data-testid="audit-action" data-action={code}>{actionLabel(code)}</span>
              </Tooltip>
            ),
          },
          { title: t('audit.resource'), key: 'resource', render: (_, entry) => <Resource entry={entry} /> },
        ]}
      />
      <Pager page={pages.page} hasNext={!!audit.data?.nextCursor} onPrevious={pages.previous} onNext={() => pages.next(audit.data?.nextCursor ?? null)} />
    </Space>
  );
}

/**
 * The resource of an entry: its kind, and a link to its page: a task by its name (as the entry
 * recorded it), a run by its id, a token (to the tokens page) and a namespace (its details) by
 * its name. The id is in a tooltip.
 */
function Resource({ entry }: { entry: AuditEntryResource }) {
  const { t } = useTranslation();
  const { resourceType: type, resourceId: id } = entry;
  const kind = t(`audit.types.${type}`, { defaultValue: type });
  if (!id) return <span style={NOWRAP}>{kind}</span>;
  const details = (typeof entry.details === 'object' && entry.details !== null ? entry.details : {}) as { namespace?: unknown; name?: unknown };
  const name = typeof details.name !== 'string' ? null
    : type === 'task' && typeof details.namespace === 'string' ? `${details.namespace}/${details.name}` : details.name;
  const href = type === 'task' ? `/tasks/${id}` : type === 'run' ? `/runs/${id}` : type === 'token' ? '/tokens' : type === 'namespace' ? `/namespaces?name=${encodeURIComponent(id)}` : null;
  const text = name ?? <Typography.Text code style={{ ...NOWRAP, fontSize: 12 }}>{id}</Typography.Text>;
  return (
    <span style={NOWRAP} data-testid="audit-resource">
      {kind}{' '}
      <Tooltip title={id}>{href ? <Link to={href} data-testid={`audit-link-${type}`}>{text}</Link> : <span>{text}</span>}</Tooltip>
    </span>
  );
}
