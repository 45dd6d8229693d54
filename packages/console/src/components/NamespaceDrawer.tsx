/**
 * A namespace's details, beside its list: every setting (description, labels, each quota, the
 * outbound rules), whether it is implicit, and its usage against its quotas, refreshed every 5 s.
 * Admins get Edit and Delete here too.
 */
import { DeleteOutlined, EditOutlined } from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import { Button, Descriptions, Drawer, Grid, Popconfirm, Space, Spin, Tag, Tooltip, Typography } from 'antd';
import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { getNamespace, type NamespaceResource } from '../api.ts';
import { useAuth } from '../auth.tsx';
import { msText } from '../spec.ts';
import { ErrorView, Instant } from './common.tsx';
import { QuotaUsage } from './QuotaUsage.tsx';

export const NAMESPACE_POLL_MS = 5000;

/** `GET /api/v1/namespaces/{name}`, polled while shown (TanStack Query pauses it in a hidden tab). */
export function useNamespaceUsage(name: string) {
  return useQuery({ queryKey: ['namespace', name], queryFn: () => getNamespace(name), refetchInterval: NAMESPACE_POLL_MS });
}

const tags = (values: string[], none: string, color?: string): ReactNode =>
  (values.length === 0 ? <Typography.Text type="secondary">{none}</Typography.Text> : <Space size={[0, 4]} wrap>{values.map((v) => <Tag key={v} color={color}>{v}</Tag>)}</Space>);

export function ImplicitTag() {
  const { t } = useTranslation();
  return <Tooltip title={t('namespaces.implicitHelp')}><Tag data-testid="namespace-implicit">{t('namespaces.implicit')}</Tag></Tooltip>;
}

interface DrawerProps {
  name: string;
  onClose(): void;
  onEdit(namespace: NamespaceResource): void;
  onDelete(name: string): Promise<void>;
}

export function NamespaceDrawer({ name, onClose, onEdit, onDelete }: DrawerProps) {
  const { t } = useTranslation();
  const { can } = useAuth();
  const narrow = !Grid.useBreakpoint().md;
  const query = useNamespaceUsage(name);
  const ns = query.data;
  const extra = ns && can('admin', ns.name) && (
    <Space>
      <Button icon={<EditOutlined />} onClick={() => onEdit(ns)} data-testid="namespace-drawer-edit">{t('namespaces.edit')}</Button>
      {!ns.implicit && (
        <Popconfirm title={t('namespaces.deleteConfirm', { name })} description={t('namespaces.deleteHint')} okText={t('namespaces.delete')}
          okButtonProps={{ danger: true }} cancelText={t('common.cancel')} onConfirm={() => onDelete(name)}>
          <Button danger icon={<DeleteOutlined />}>{t('namespaces.delete')}</Button>
        </Popconfirm>
      )}
    </Space>
  );
  return (
    <Drawer open title={t('namespaces.detailTitle', { name })} onClose={onClose} size={narrow ? '100%' : 600} extra={extra} rootClassName="namespace-drawer">
      {query.error ? <ErrorView error={query.error} /> : !ns ? <Spin /> : <NamespaceDetails ns={ns} />}
    </Drawer>
  );
}

function NamespaceDetails({ ns }: { ns: NamespaceResource }) {
  const { t } = useTranslation();
  const q = ns.quotas;
  const limit = (value: number | null) => (value === null ? <Typography.Text type="secondary">{t('namespaces.noLimit')}</Typography.Text> : value);
  return (
    <Space orientation="vertical" size="large" style={{ width: '100%' }} data-testid="namespace-details">
      <Descriptions size="small" column={1} bordered title={t('namespaces.settings')} items={[
        { key: 'state', label: t('namespaces.state'), children: ns.implicit ? <ImplicitTag /> : <Tag color="blue">{t('namespaces.stored')}</Tag> },
        { key: 'description', label: t('namespaces.description'), children: <span style={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>{ns.description || '—'}</span> },
        { key: 'labels', label: t('namespaces.labels'), children: tags(Object.entries(ns.labels).map(([k, v]) => `${k}=${v}`), t('namespaces.none')) },
        { key: 'created', label: t('namespaces.created'), children: <Instant value={ns.createdAt} /> },
        { key: 'updated', label: t('namespaces.updated'), children: <Instant value={ns.updatedAt} /> },
      ]} />
      <Descriptions size="small" column={1} bordered title={t('namespaces.usage')} items={[
        { key: 'tasks', label: t('namespaces.tasks'), children: <QuotaUsage used={ns.usage.tasks} limit={q.maxTasks} testId="detail-tasks" /> },
        { key: 'workflows', label: t('namespaces.workflows'), children: <QuotaUsage used={ns.usage.workflows} limit={q.maxWorkflows} /> },
        { key: 'activeRuns', label: t('namespaces.activeRuns'), children: <QuotaUsage used={ns.usage.activeRuns} limit={q.maxConcurrentRuns} testId="detail-active-runs" /> },
        { key: 'throttled', label: <span title={t('namespaces.throttledRunsHelp')}>{t('namespaces.throttledRuns')}</span>, children: <span data-testid="detail-throttled-runs">{ns.usage.throttledRuns}</span> },
        { key: 'fires', label: t('namespaces.firesLastMinute'), children: <QuotaUsage used={ns.usage.firesLastMinute} limit={q.maxFiresPerMinute} /> },
      ]} />
      <Descriptions size="small" column={1} bordered title={t('namespaces.quotas')} data-testid="namespace-quotas" items={[
        { key: 'minIntervalMs', label: t('namespaces.minIntervalMs'), children: msText(q.minIntervalMs) },
        { key: 'maxConcurrentRuns', label: t('namespaces.maxConcurrentRuns'), children: limit(q.maxConcurrentRuns) },
        { key: 'maxFiresPerMinute', label: t('namespaces.maxFiresPerMinute'), children: limit(q.maxFiresPerMinute) },
        { key: 'maxTasks', label: t('namespaces.maxTasks'), children: limit(q.maxTasks) },
        { key: 'maxWorkflows', label: t('namespaces.maxWorkflows'), children: limit(q.maxWorkflows) },
        {
          key: 'allowedTargetTypes', label: t('namespaces.allowedTargetTypes'),
          children: q.allowedTargetTypes === null ? <Typography.Text type="secondary">{t('namespaces.allTypes')}</Typography.Text> : tags(q.allowedTargetTypes.map((type) => t(`targets.${type}`)), t('namespaces.none')),
        },
        {
          key: 'groupMaxConcurrentRuns', label: t('namespaces.groupMaxConcurrentRuns'),
          children: <span data-testid="detail-group-limits">{tags(Object.entries(q.groupMaxConcurrentRuns ?? {}).map(([group, max]) => `${group}=${max}`), t('namespaces.none'))}</span>,
        },
        {
          key: 'containerImages', label: t('namespaces.containerImages'),
          children: (
            <span data-testid="detail-container-images">
              {!q.containerImages ? <Typography.Text type="secondary">{t('namespaces.anyImage')}</Typography.Text> : tags(q.containerImages, t('namespaces.none'))}
            </span>
          ),
        },
      ]} />
      <Descriptions size="small" column={1} bordered title={t('namespaces.outbound')} items={[
        { key: 'allow', label: t('namespaces.allow'), children: <span data-testid="detail-allow">{tags(ns.outbound.allow, t('namespaces.none'), 'green')}</span> },
        { key: 'deny', label: t('namespaces.deny'), children: <span data-testid="detail-deny">{tags(ns.outbound.deny, t('namespaces.none'), 'red')}</span> },
      ]} />
      <Typography.Text type="secondary">{t('namespaces.outboundHelp')}</Typography.Text>
    </Space>
  );
}
