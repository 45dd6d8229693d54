/** The scheduler nodes of the cluster: alive or not, roles, heartbeats, the buckets each one leases. Polls every 5 s. */
import { useQuery } from '@tanstack/react-query';
import { Alert, Card, Col, Progress, Row, Space, Statistic, Table, Tag, Tooltip, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { api, ApiError, type NodeList, type NodeResource } from '../api.ts';
import { Age, ErrorView, Instant, NOWRAP } from '../components/common.tsx';

export default function Nodes() {
  const { t } = useTranslation();
  const nodes = useQuery({ queryKey: ['nodes'], queryFn: () => api<NodeList>('GET', '/nodes'), refetchInterval: 5000 });
  if (nodes.error instanceof ApiError && nodes.error.code === 'ROUTE_NOT_FOUND') {
    return <Alert type="info" showIcon message={t('nodes.unavailable')} data-testid="nodes-unavailable" />;
  }
  if (nodes.error) return <ErrorView error={nodes.error} />;
  const buckets = nodes.data?.buckets;
  const owned = buckets ? buckets.total - buckets.unowned : 0;
  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      <Typography.Title level={3} style={{ margin: 0 }}>{t('nodes.title')}</Typography.Title>
      <Row gutter={[16, 16]}>
        <Col xs={12} md={6}><Card size="small"><Statistic title={t('nodes.alive')} value={nodes.data?.items.filter((n) => n.alive).length ?? 0} /></Card></Col>
        <Col xs={12} md={6}><Card size="small"><Statistic title={t('nodes.dead')} value={nodes.data?.items.filter((n) => !n.alive).length ?? 0} /></Card></Col>
        <Col xs={24} md={12}>
          <Card size="small">
            <Typography.Text type="secondary">{t('nodes.bucketsOwned', { owned, total: buckets?.total ?? 0 })}</Typography.Text>
            <Progress percent={buckets?.total ? Math.round((owned / buckets.total) * 100) : 0} status={buckets?.unowned ? 'exception' : 'success'} />
          </Card>
        </Col>
      </Row>
      <Table<NodeResource>
        rowKey="id" size="small" pagination={false} loading={nodes.isLoading} dataSource={nodes.data?.items ?? []} scroll={{ x: true }} data-testid="nodes-table"
        columns={[
          {
            // The address under the id: at 1280 px every column fits without scrolling sideways.
            title: t('nodes.node'), dataIndex: 'id',
            render: (id: string, node: NodeResource) => (
              <Space orientation="vertical" size={0}>
                <Typography.Text code style={NOWRAP}>{id}</Typography.Text>
                <Typography.Text type="secondary" style={{ ...NOWRAP, fontSize: 12 }}>{node.address ?? '—'}</Typography.Text>
              </Space>
            ),
          },
          { title: t('nodes.state'), dataIndex: 'alive', render: (alive: boolean) => <Tag color={alive ? 'success' : 'error'} data-status={alive ? 'alive' : 'dead'}>{t(alive ? 'nodes.aliveTag' : 'nodes.deadTag')}</Tag> },
          { title: t('nodes.roles'), dataIndex: 'roles', render: (roles: string[]) => <span style={NOWRAP}>{roles.map((r) => <Tag key={r}>{r}</Tag>)}</span> },
          { title: t('nodes.version'), dataIndex: 'version' },
          {
            title: t('nodes.tzVersion'), dataIndex: 'tzVersion',
            render: (tz: string | null, node: NodeResource) => {
              const cluster = nodes.data?.clusterTzVersion ?? null;
              if (tz === null) return '—';
              if (!node.alive || cluster === null || tz === cluster) return tz;
              return <Tooltip title={t('nodes.tzDiffers', { cluster })}><Tag color="warning" data-testid="node-tz-differs">{tz}</Tag></Tooltip>;
            },
          },
          { title: t('nodes.heartbeat'), dataIndex: 'heartbeatAt', render: (v: string) => <Age value={v} /> },
          { title: t('nodes.started'), dataIndex: 'startedAt', render: (v: string) => <Instant value={v} /> },
          {
            title: t('nodes.buckets'), dataIndex: 'buckets',
            render: (b: number[]) => <Tooltip title={b.join(', ') || '—'}><span>{b.length}</span></Tooltip>,
          },
          { title: t('nodes.leaseExpires'), dataIndex: 'leaseExpiresAt', render: (v: string | null) => <Age value={v} /> },
        ]}
      />
    </Space>
  );
}
