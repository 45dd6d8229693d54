/**
 * One incident (`GET /api/v1/incidents/{id}`): its state, rule, subject, instants, the figures of
 * its condition, and each notification with its delivery (kind, channel, state, attempts, last
 * error). Operators and above acknowledge it (repeats stop) and resolve it by hand; a refusal
 * (INCIDENT_STATE_CONFLICT when another hand got there first) is shown with its code.
 */
import { CheckCircleOutlined, EyeOutlined } from '@ant-design/icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Card, Descriptions, Popconfirm, Space, Spin, Table, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router-dom';
import { ALL, getIncident, incidentAction, listChannels } from '../alerts/api.ts';
import type { NotificationResource } from '../alerts/types.ts';
import { useAuth } from '../auth.tsx';
import { DeliveryTag, IncidentStateTag, INCIDENT_POLL_MS, SeverityTag, SubjectText, useIncidentRefresh } from '../components/alerts/AlertTags.tsx';
import { ErrorView, errorMessage, Instant, Json, NOWRAP } from '../components/common.tsx';

/** A figure that is an instant in milliseconds (`scheduledAt`, `startedAt`), shown as one. */
const isInstant = (key: string, value: unknown): value is number => /At$/.test(key) && typeof value === 'number' && Number.isFinite(value) && value > 0;

export default function IncidentDetail() {
  const { id } = useParams() as { id: string };
  const { t } = useTranslation();
  const { can } = useAuth();
  const { message } = App.useApp();
  const client = useQueryClient();
  const [busy, setBusy] = useState<'acknowledge' | 'resolve' | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const detail = useQuery({ queryKey: ['incidents', 'detail', id], queryFn: () => getIncident(id), refetchInterval: INCIDENT_POLL_MS });
  const namespace = detail.data?.incident.namespace;
  const channels = useQuery({
    queryKey: ['alert-channels', 'names', namespace], queryFn: () => listChannels({ namespace, limit: ALL }), enabled: namespace !== undefined, staleTime: 30_000,
  });
  useIncidentRefresh(namespace ?? null);

  async function act(action: 'acknowledge' | 'resolve') {
    setBusy(action);
    setFailure(null);
    try {
      await incidentAction(id, action);
      message.success(t(action === 'acknowledge' ? 'alerts.incident.acknowledgedMessage' : 'alerts.incident.resolvedMessage'));
    } catch (error) {
      setFailure(errorMessage(error));
    } finally {
      setBusy(null);
      await client.invalidateQueries({ queryKey: ['incidents'] });
    }
  }

  if (detail.error) return <ErrorView error={detail.error} />;
  if (!detail.data) return <Spin />;
  const { incident, notifications } = detail.data;
  const channelName = new Map((channels.data?.items ?? []).map((c) => [c.id, c.name]));
  const operator = can('operator', incident.namespace);
  const details = Object.entries(incident.details);
  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <Space style={{ width: '100%', justifyContent: 'space-between' }} wrap>
        <Space wrap>
          <Typography.Title level={3} style={{ margin: 0 }}>{t('alerts.incident.title', { rule: incident.ruleName })}</Typography.Title>
          <IncidentStateTag state={incident.state} />
          <SeverityTag severity={incident.severity} />
        </Space>
        {operator && (
          <Space wrap>
            {incident.state === 'open' && (
              <Popconfirm title={t('alerts.incident.acknowledgeConfirm')} description={t('alerts.incident.acknowledgeHelp')} okText={t('alerts.incident.acknowledge')}
                cancelText={t('common.cancel')} okButtonProps={{ 'data-testid': 'incident-acknowledge-ok' } as never} onConfirm={() => act('acknowledge')}>
                <Button icon={<EyeOutlined />} loading={busy === 'acknowledge'} data-testid="incident-acknowledge">{t('alerts.incident.acknowledge')}</Button>
              </Popconfirm>
            )}
            {incident.state !== 'resolved' && (
              <Popconfirm title={t('alerts.incident.resolveConfirm')} description={t('alerts.incident.resolveHelp')} okText={t('alerts.incident.resolve')}
                cancelText={t('common.cancel')} okButtonProps={{ 'data-testid': 'incident-resolve-ok' } as never} onConfirm={() => act('resolve')}>
                <Button type="primary" icon={<CheckCircleOutlined />} loading={busy === 'resolve'} data-testid="incident-resolve">{t('alerts.incident.resolve')}</Button>
              </Popconfirm>
            )}
          </Space>
        )}
      </Space>
      {failure && <Alert type="error" showIcon closable onClose={() => setFailure(null)} title={<span data-testid="incident-error">{failure}</span>} />}
      <Typography.Paragraph style={{ margin: 0, overflowWrap: 'anywhere' }} data-testid="incident-summary">{incident.summary}</Typography.Paragraph>
      <Card size="small">
        <Descriptions size="small" column={{ xs: 1, sm: 1, md: 2, xxl: 3 }}>
          <Descriptions.Item label={t('alerts.incidents.rule')}>
            <Link to={`/alerts/rules?id=${incident.ruleId}`}>{incident.namespace}/{incident.ruleName}</Link>&nbsp;
            <Typography.Text type="secondary">{t(`alerts.kinds.${incident.on}`)}</Typography.Text>
          </Descriptions.Item>
          <Descriptions.Item label={t('alerts.incidents.subject')}><SubjectText subject={incident.subject} /></Descriptions.Item>
          <Descriptions.Item label={t('common.namespace')}>{incident.namespace}</Descriptions.Item>
          <Descriptions.Item label={t('alerts.incidents.opened')}><Instant value={incident.openedAt} /></Descriptions.Item>
          <Descriptions.Item label={t('alerts.incident.acknowledgedAt')}>
            <Instant value={incident.acknowledgedAt} />{incident.acknowledgedBy && <Typography.Text type="secondary"> · {incident.acknowledgedBy}</Typography.Text>}
          </Descriptions.Item>
          <Descriptions.Item label={t('alerts.incident.resolvedAt')}>
            <Instant value={incident.resolvedAt} />
            {incident.resolvedBy && (
              <Typography.Text type="secondary" data-testid="incident-resolved-by">
                {' · '}{incident.resolvedBy === 'condition' ? t('alerts.incident.byCondition') : incident.resolvedBy}
              </Typography.Text>
            )}
          </Descriptions.Item>
          <Descriptions.Item label={t('alerts.incident.lastNotified')}><Instant value={incident.lastNotifiedAt} /></Descriptions.Item>
        </Descriptions>
      </Card>
      <Card size="small" title={t('alerts.incident.details')}>
        {details.length === 0 ? <Typography.Text type="secondary">{t('alerts.incident.noDetails')}</Typography.Text> : (
          <Descriptions size="small" column={1} bordered data-testid="incident-details">
            {details.map(([key, value]) => (
              <Descriptions.Item key={key} label={<code>{key}</code>}>
                {key === 'runId' && typeof value === 'string' ? <Link to={`/runs/${value}`}>{value}</Link>
                  : isInstant(key, value) ? <Instant value={new Date(value).toISOString()} ms />
                    : typeof value === 'object' && value !== null ? <Json value={value} /> : <span style={{ overflowWrap: 'anywhere' }}>{String(value)}</span>}
              </Descriptions.Item>
            ))}
          </Descriptions>
        )}
      </Card>
      <Card size="small" title={t('alerts.incident.notifications', { count: notifications.length })}>
        <Table<NotificationResource>
          rowKey="id" size="small" pagination={false} dataSource={notifications} scroll={{ x: true }} data-testid="incident-notifications"
          locale={{ emptyText: t('alerts.incident.noNotifications') }}
          columns={[
            { title: t('alerts.incident.kind'), dataIndex: 'kind', render: (k: string) => <span style={NOWRAP}>{t(`alerts.notificationKinds.${k}`)}</span> },
            { title: t('alerts.incident.channel'), dataIndex: 'channelId', render: (c: string) => <span style={NOWRAP}>{channelName.get(c) ?? c}</span> },
            { title: t('alerts.incident.delivery'), dataIndex: 'state', render: (s: NotificationResource['state']) => <DeliveryTag state={s} /> },
            { title: t('alerts.incident.attempts'), dataIndex: 'attempts' },
            {
              title: t('alerts.incident.sentOrNext'), key: 'when',
              render: (_, n) => (n.sentAt ? <Instant value={n.sentAt} /> : n.state === 'pending' ? <Instant value={n.nextAttemptAt} /> : '—'),
            },
            {
              title: t('alerts.incident.lastError'), dataIndex: 'lastError',
              render: (e: string | null) => <Typography.Text type="danger" ellipsis={{ tooltip: e }} style={{ maxWidth: 360 }}>{e ?? ''}</Typography.Text>,
            },
          ]}
        />
      </Card>
      <Link to="/alerts/incidents">{t('alerts.incident.allIncidents')}</Link>
    </Space>
  );
}
