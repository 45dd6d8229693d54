/**
 * The executor nodes (SDK services, `ecron agent`s) by group: how each is reached, its labels,
 * weight and handlers, what it runs now, and whether it is alive, as the server says (`alive`,
 * `expiresAt`, by the store's clock). Heartbeat ages are measured against the server's clock.
 * A group filter (kept in the URL) narrows the list. Fetched again when a node joins or leaves
 * (`executor.*` events), and every 10 s besides: heartbeats are no events, and neither is a node's
 * lease running out (it leaves, with an event, only when it is forgotten an hour later), so only
 * the registry says that a node died.
 */
import { Badge, Card, Col, Empty, Row, Select, Space, Statistic, Table, Tag, Tooltip, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { useSearchParams } from 'react-router-dom';
import { serverNow, type ExecutorResource } from '../api.ts';
import { ErrorView, Instant, NOWRAP } from '../components/common.tsx';
import { DiscoveredGroups } from '../components/DiscoveredGroups.tsx';
import { groupsOf, useExecutors, type ExecutorGroup } from '../components/useExecutors.ts';
import { formatAge, formatInstant } from '../format.ts';
import { useLiveRefresh } from '../use-events.ts';

const LIVE_FILTER = { types: ['executor.*'] };
/** Liveness and heartbeat ages change without events: the registry is read this often besides. */
const LIVENESS_REFRESH_MS = 10_000;

export default function Executors() {
  const { t } = useTranslation();
  const [search, setSearch] = useSearchParams();
  const filter = search.get('group') ?? undefined;
  const executors = useExecutors(LIVENESS_REFRESH_MS);
  useLiveRefresh(LIVE_FILTER, () => void executors.refetch());
  if (executors.error) return <ErrorView error={executors.error} />;
  const items = executors.data?.items ?? [];
  const groups = groupsOf(items);
  const shown = groups.filter((g) => filter === undefined || g.group === filter);
  const live = items.filter((n) => n.alive).length;

  function choose(group: string | undefined) {
    const next = new URLSearchParams(search);
    if (group) next.set('group', group); else next.delete('group');
    setSearch(next);
  }

  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      <Typography.Title level={3} style={{ margin: 0 }}>{t('executors.title')}</Typography.Title>
      <Row gutter={[16, 16]}>
        <Col xs={8} md={6}><Card size="small"><Statistic title={t('executors.groups')} value={groups.length} /></Card></Col>
        <Col xs={8} md={6}><Card size="small"><Statistic title={t('executors.live')} value={live} /></Card></Col>
        <Col xs={8} md={6}><Card size="small"><Statistic title={t('executors.dead')} value={items.length - live} /></Card></Col>
      </Row>
      <Select allowClear value={filter} onChange={choose} placeholder={t('executors.allGroups')} aria-label={t('executors.group')} style={{ width: 280 }}
        data-testid="executor-group-filter"
        options={groups.map((g) => ({ value: g.group, label: `${g.group} · ${t('executors.liveOf', { live: g.live, total: g.total })}` }))} />
      <DiscoveredGroups filter={filter} refetchInterval={LIVENESS_REFRESH_MS} />
      {!executors.isLoading && items.length === 0 && <NoExecutors />}
      {filter !== undefined && !executors.isLoading && shown.length === 0 && items.length > 0 && (
        <Empty description={t('executors.noneInGroup', { group: filter })} />
      )}
      {shown.map((g) => <GroupCard key={g.group} group={g} nodes={items.filter((n) => n.group === g.group)} />)}
    </Space>
  );
}

function NoExecutors() {
  const { t } = useTranslation();
  return (
    <Card size="small" data-testid="executors-empty">
      <Empty description={(
        <Space direction="vertical" size={4}>
          <Typography.Text strong>{t('executors.emptyTitle')}</Typography.Text>
          <Typography.Text>{t('executors.emptyAgent')} <Typography.Text code>ecron agent --config agent.yaml</Typography.Text></Typography.Text>
          <Typography.Text>{t('executors.emptySdk')}</Typography.Text>
        </Space>
      )} />
    </Card>
  );
}

function GroupCard({ group, nodes }: { group: ExecutorGroup; nodes: ExecutorResource[] }) {
  const { t } = useTranslation();
  const now = serverNow();
  return (
    <Card size="small" data-testid={`executor-group-${group.group}`}
      title={<Space wrap><span>{group.group}</span><Tag color={group.live > 0 ? 'success' : 'error'} data-testid="group-live">{t('executors.liveOf', { live: group.live, total: group.total })}</Tag></Space>}>
      <Table<ExecutorResource>
        rowKey="id" size="small" pagination={false} dataSource={nodes} scroll={{ x: true }}
        columns={[
          {
            title: t('executors.node'), dataIndex: 'id',
            render: (id: string, n) => <Space orientation="vertical" size={0}><Typography.Text code style={NOWRAP}>{id}</Typography.Text>{n.version && <Typography.Text type="secondary" style={{ fontSize: 12 }}>{n.version}</Typography.Text>}</Space>,
          },
          {
            title: t('executors.state'), dataIndex: 'alive',
            render: (alive: boolean, n) => (
              <Tooltip title={t(alive ? 'executors.expiresAt' : 'executors.expiredAt', { at: formatInstant(n.expiresAt) })}>
                <Badge style={{ whiteSpace: 'nowrap' }} status={alive ? 'success' : 'error'} text={t(alive ? 'executors.aliveTag' : 'executors.deadTag')} data-status={alive ? 'alive' : 'dead'} />
              </Tooltip>
            ),
          },
          {
            title: t('executors.heartbeat'), dataIndex: 'heartbeatAt',
            render: (at: string) => <Tooltip title={formatInstant(at)}><span style={{ whiteSpace: 'nowrap' }}>{t('executors.ago', { age: formatAge(now - Date.parse(at)) })}</span></Tooltip>,
          },
          { title: t('executors.mode'), dataIndex: 'mode', render: (mode: string) => <Tag color={mode === 'pull' ? 'purple' : 'blue'}>{t(`executors.modes.${mode}`)}</Tag> },
          { title: t('executors.transport'), dataIndex: 'transport' },
          { title: t('executors.address'), dataIndex: 'address', render: (a: string | null) => (a ? <Typography.Text code style={NOWRAP}>{a}</Typography.Text> : '—') },
          {
            title: t('executors.labels'), dataIndex: 'labels',
            render: (labels: Record<string, string>) => (Object.keys(labels).length === 0 ? '—' : Object.entries(labels).map(([k, v]) => <Tag key={k}>{k}={v}</Tag>)),
          },
          { title: t('executors.weight'), dataIndex: 'weight', align: 'right' },
          {
            title: t('executors.handlers'), dataIndex: 'handlers',
            render: (handlers: string[]) => (handlers.length === 0
              ? <Tooltip title={t('executors.anyHandlerHelp')}><Tag>{t('executors.anyHandler')}</Tag></Tooltip>
              : handlers.map((h) => <Tag key={h} color="geekblue">{h}</Tag>)),
          },
          { title: t('executors.inflight'), dataIndex: 'inflight', align: 'right' },
          { title: t('executors.started'), dataIndex: 'startedAt', render: (v: string) => <Instant value={v} /> },
        ]}
      />
    </Card>
  );
}
