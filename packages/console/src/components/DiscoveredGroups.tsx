/**
 * The executor groups whose nodes are also found by discovery (`GET /api/v1/executor-groups`): how
 * each finds them (a static list, a DNS name) and the addresses the server's scheduler routes to
 * now, with the last resolution's time and error. Shown on the Executors page; nothing when no
 * group has a discovery (or the server has no such route).
 */
import type { ExecutorGroupList, ExecutorGroupResource } from '@ecron/contracts';
import { useQuery } from '@tanstack/react-query';
import { Alert, Card, Space, Tag, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { api } from '../api.ts';
import { formatDuration, formatInstant } from '../format.ts';
import { NOWRAP } from './common.tsx';

export function useExecutorGroups(refetchInterval?: number) {
  return useQuery({ queryKey: ['executor-groups'], queryFn: () => api<ExecutorGroupList>('GET', '/executor-groups'), refetchInterval, retry: false });
}

export function DiscoveredGroups({ filter, refetchInterval }: { filter?: string; refetchInterval?: number }) {
  const { t } = useTranslation();
  const groups = useExecutorGroups(refetchInterval);
  const items = (groups.data?.items ?? []).filter((g) => filter === undefined || g.group === filter);
  if (items.length === 0) return null;
  return (
    <Card size="small" title={t('executors.discovery.title')} data-testid="discovered-groups">
      <Space direction="vertical" size="small" style={{ width: '100%' }}>
        <Typography.Text type="secondary">{t('executors.discovery.help')}</Typography.Text>
        {items.map((g) => <DiscoveredGroup key={`${g.namespace}/${g.group}`} group={g} />)}
      </Space>
    </Card>
  );
}

function DiscoveredGroup({ group }: { group: ExecutorGroupResource }) {
  const { t } = useTranslation();
  const { discovery, status } = group;
  const how = 'static' in discovery
    ? t('executors.discovery.static')
    : `${t(discovery.dns.srv ? 'executors.discovery.srv' : 'executors.discovery.dns', { name: discovery.dns.port === undefined ? discovery.dns.name : `${discovery.dns.name}:${discovery.dns.port}` })}`
      + ` · ${t('executors.discovery.every', { every: formatDuration(discovery.dns.refreshMs) })}`;
  return (
    <Space direction="vertical" size={4} style={{ width: '100%' }} data-testid={`discovered-group-${group.namespace}-${group.group}`}>
      <Space wrap>
        <Typography.Text strong>{group.namespace}/{group.group}</Typography.Text>
        <Tag color="cyan">{how}</Tag>
        <Typography.Text type="secondary">
          {status?.resolvedAt ? t('executors.discovery.resolved', { at: formatInstant(status.resolvedAt) }) : t('executors.discovery.notResolved')}
        </Typography.Text>
      </Space>
      <Space wrap size={[4, 4]}>
        {(status?.nodes ?? []).length === 0
          ? <Typography.Text type="secondary">{t('executors.discovery.noAddress')}</Typography.Text>
          : status!.nodes.map((n) => <Typography.Text key={n.id} code style={NOWRAP}>{n.address}</Typography.Text>)}
      </Space>
      {status?.error && <Alert type={status.stale ? 'warning' : 'error'} showIcon message={status.stale ? `${t('executors.discovery.stale')}: ${status.error}` : status.error} />}
    </Space>
  );
}
