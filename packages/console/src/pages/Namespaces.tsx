/**
 * Namespaces: those the token can see (as the header's switch offers them), each with its
 * description, labels, and usage against its quotas (tasks, workflows, active runs, fires in the
 * last minute), refreshed every 5 s while the page is shown. The list answers without usage, so
 * each row reads its namespace (`GET /api/v1/namespaces/{name}`). A name opens the details in a
 * drawer (`?name=` in the URL). Admins create, edit and delete namespaces; the API's refusal to
 * delete one that still holds tasks (409 NAMESPACE_NOT_EMPTY) is said with its counts.
 */
import { DeleteOutlined, EditOutlined, PlusOutlined } from '@ant-design/icons';
import { useQueries, useQueryClient } from '@tanstack/react-query';
import { App, Button, Popconfirm, Space, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useSearchParams } from 'react-router-dom';
import { ApiError, deleteNamespace, getNamespace, type NamespaceListItem, type NamespaceResource } from '../api.ts';
import { useAuth } from '../auth.tsx';
import { ErrorView, errorMessage, NOWRAP } from '../components/common.tsx';
import { ImplicitTag, NAMESPACE_POLL_MS, NamespaceDrawer } from '../components/NamespaceDrawer.tsx';
import { NamespaceFormModal } from '../components/NamespaceFormModal.tsx';
import { QuotaUsage } from '../components/QuotaUsage.tsx';
import { useNamespace, useNamespaceList } from '../namespace.tsx';

interface Row {
  name: string;
  /** The namespace with its usage; until it answers, the list's item (settings only), if listed. */
  ns: NamespaceResource | NamespaceListItem | undefined;
}

const usageOf = (row: Row) => (row.ns && 'usage' in row.ns ? row.ns.usage : undefined);

export default function Namespaces() {
  const { t } = useTranslation();
  const { can } = useAuth();
  const { message } = App.useApp();
  const client = useQueryClient();
  const [search, setSearch] = useSearchParams();
  const [editing, setEditing] = useState<{ namespace?: NamespaceListItem } | null>(null);
  const list = useNamespaceList(NAMESPACE_POLL_MS);
  const { choices } = useNamespace();
  // Every choice, whether listed or only named by the token's scope: the latter may not exist (404).
  const reads = useQueries({
    queries: choices.map((name) => ({ queryKey: ['namespace', name], queryFn: () => getNamespace(name), refetchInterval: NAMESPACE_POLL_MS })),
  });
  const listed = new Map((list.data?.items ?? []).map((ns) => [ns.name, ns]));
  const rows: Row[] = choices.flatMap((name, i) => {
    const read = reads[i];
    if (read?.error instanceof ApiError && read.error.status === 404 && !listed.has(name)) return [];
    return [{ name, ns: read?.data ?? listed.get(name) }];
  });
  const opened = search.get('name');
  const stored = (list.data?.items ?? []).filter((ns) => !ns.implicit).map((ns) => ns.name);

  const open = (name: string | null) => setSearch(name ? { name } : {});

  async function remove(name: string) {
    try {
      await deleteNamespace(name);
      message.success(t('namespaces.deletedMessage', { name }));
      if (opened === name) open(null);
      client.removeQueries({ queryKey: ['namespace', name] });
    } catch (error) {
      const text = error instanceof ApiError && error.code === 'NAMESPACE_NOT_EMPTY'
        ? `${t('namespaces.notEmpty', { name, tasks: error.details.tasks ?? '?', workflows: error.details.workflows ?? '?' })} (${error.code})`
        : errorMessage(error);
      message.error({ content: <span data-testid="namespace-error">{text}</span>, duration: 8 });
    }
    await client.invalidateQueries({ queryKey: ['namespaces'] });
  }

  function saved(ns: NamespaceResource, created: boolean) {
    setEditing(null);
    message.success(t(created ? 'namespaces.createdMessage' : 'namespaces.savedMessage', { name: ns.name }));
    client.setQueryData(['namespace', ns.name], ns);
    void client.invalidateQueries({ queryKey: ['namespaces'] });
  }

  if (list.error) return <ErrorView error={list.error} />;
  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <Space style={{ width: '100%', justifyContent: 'space-between' }} wrap>
        <Typography.Title level={3} style={{ margin: 0 }}>{t('namespaces.title')}</Typography.Title>
        {can('admin') && <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing({})} data-testid="new-namespace">{t('namespaces.new')}</Button>}
      </Space>
      <Typography.Text type="secondary">{t('namespaces.polling', { seconds: NAMESPACE_POLL_MS / 1000 })}</Typography.Text>
      <Table<Row>
        rowKey="name" size="small" pagination={false} loading={list.isLoading} dataSource={rows} scroll={{ x: true }} data-testid="namespaces-table"
        columns={[
          {
            title: t('common.name'), dataIndex: 'name',
            render: (name: string, row) => (
              <div style={{ minWidth: 140 }}>
                <Space size={4}>
                  <Typography.Link onClick={() => open(name)} data-testid="namespace-link" style={NOWRAP}>{name}</Typography.Link>
                  {row.ns?.implicit && <ImplicitTag />}
                </Space>
                {row.ns?.description && (
                  <Typography.Text type="secondary" ellipsis={{ tooltip: row.ns.description }} style={{ display: 'block', maxWidth: 280, fontSize: 12 }} data-testid="namespace-description">
                    {row.ns.description}
                  </Typography.Text>
                )}
              </div>
            ),
          },
          {
            title: t('namespaces.labels'), key: 'labels',
            render: (_, row) => {
              const labels = Object.entries(row.ns?.labels ?? {});
              return labels.length === 0 ? '—' : <Space size={[0, 4]} wrap style={{ maxWidth: 240 }}>{labels.map(([k, v]) => <Tag key={k}>{k}={v}</Tag>)}</Space>;
            },
          },
          { title: t('namespaces.tasks'), key: 'tasks', render: (_, row) => <QuotaUsage used={usageOf(row)?.tasks} limit={row.ns?.quotas.maxTasks} testId="ns-tasks" /> },
          { title: t('namespaces.workflows'), key: 'workflows', render: (_, row) => <QuotaUsage used={usageOf(row)?.workflows} limit={row.ns?.quotas.maxWorkflows} testId="ns-workflows" /> },
          {
            title: <span title={t('namespaces.activeRunsHelp')}>{t('namespaces.activeRuns')}</span>, key: 'activeRuns',
            render: (_, row) => <QuotaUsage used={usageOf(row)?.activeRuns} limit={row.ns?.quotas.maxConcurrentRuns} testId="ns-active-runs" />,
          },
          {
            title: <span title={t('namespaces.firesLastMinuteHelp')}>{t('namespaces.firesLastMinute')}</span>, key: 'fires',
            render: (_, row) => <QuotaUsage used={usageOf(row)?.firesLastMinute} limit={row.ns?.quotas.maxFiresPerMinute} testId="ns-fires" />,
          },
          ...(can('admin') ? [{
            title: t('namespaces.actions'), key: 'actions',
            render: (_: unknown, row: Row) => row.ns && (
              <Space size="small">
                <Button size="small" icon={<EditOutlined />} onClick={() => setEditing({ namespace: row.ns })} data-testid="namespace-edit">{t('namespaces.edit')}</Button>
                {!row.ns.implicit && (
                  <Popconfirm title={t('namespaces.deleteConfirm', { name: row.name })} description={t('namespaces.deleteHint')} okText={t('namespaces.delete')}
                    okButtonProps={{ danger: true, 'data-testid': 'namespace-delete-ok' } as never} cancelText={t('common.cancel')} onConfirm={() => remove(row.name)}>
                    <Button size="small" danger icon={<DeleteOutlined />} data-testid="namespace-delete">{t('namespaces.delete')}</Button>
                  </Popconfirm>
                )}
              </Space>
            ),
          }] : []),
        ]}
      />
      {opened && (
        <NamespaceDrawer name={opened} onClose={() => open(null)} onEdit={(namespace) => setEditing({ namespace })} onDelete={remove} />
      )}
      {editing && <NamespaceFormModal namespace={editing.namespace} stored={stored} onClose={() => setEditing(null)} onSaved={saved} />}
    </Space>
  );
}
