/**
 * Alert channels of the header's namespace (or all): type, locale, the last send accepted and the
 * last error. Editors of a channel's namespace create, edit and delete it and send a test through
 * it: the answer is said at once, ALERT_CHANNEL_FAILED with the receiver's words. A webhook's
 * generated signing secret is shown once, after the write that made it. A delete refused because
 * rules send through the channel (409 ALERT_CHANNEL_IN_USE) names them.
 */
import { DeleteOutlined, EditOutlined, PlusOutlined, SendOutlined } from '@ant-design/icons';
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Modal, Popconfirm, Space, Table, Tag, Tooltip, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api.ts';
import { deleteChannel, listChannels, testChannel } from '../alerts/api.ts';
import type { AlertChannelResource, AlertChannelWrite } from '../alerts/types.ts';
import { useAuth } from '../auth.tsx';
import { ChannelFormModal } from '../components/alerts/ChannelFormModal.tsx';
import { ErrorView, errorMessage, Instant, NOWRAP } from '../components/common.tsx';
import { Pager } from '../components/Pager.tsx';
import { useCursorPages } from '../components/useCursorPages.ts';
import { useNamespace } from '../namespace.tsx';

export default function AlertChannels() {
  const { t } = useTranslation();
  const { can } = useAuth();
  const { message } = App.useApp();
  const client = useQueryClient();
  const { namespace, choices } = useNamespace();
  const pages = useCursorPages();
  const [editing, setEditing] = useState<{ channel?: AlertChannelResource } | null>(null);
  const [secret, setSecret] = useState<{ name: string; secret: string } | null>(null);
  const [testing, setTesting] = useState<string | null>(null);
  const channels = useQuery({
    queryKey: ['alert-channels', 'list', namespace, pages.cursor],
    queryFn: () => listChannels({ namespace, cursor: pages.cursor }),
    placeholderData: keepPreviousData,
  });
  const writable = choices.filter((ns) => can('editor', ns));
  const refresh = () => client.invalidateQueries({ queryKey: ['alert-channels'] });

  async function test(channel: AlertChannelResource) {
    setTesting(channel.id);
    try {
      await testChannel(channel.id);
      message.success({ content: <span data-testid="channel-test-result" data-ok="true">{t('alerts.channels.testOk', { name: channel.name })}</span>, duration: 6 });
    } catch (error) {
      message.error({ content: <span data-testid="channel-test-result" data-ok="false">{t('alerts.channels.testFailed', { name: channel.name, error: errorMessage(error) })}</span>, duration: 10 });
    } finally {
      setTesting(null);
      await refresh();
    }
  }

  async function remove(channel: AlertChannelResource) {
    try {
      await deleteChannel(channel.id);
      message.success(t('alerts.channels.deleted', { name: channel.name }));
    } catch (error) {
      const rules = error instanceof ApiError && Array.isArray(error.details.rules) ? (error.details.rules as string[]).join(', ') : null;
      const text = error instanceof ApiError && error.code === 'ALERT_CHANNEL_IN_USE' && rules
        ? `${t('alerts.channels.inUse', { name: channel.name, rules })} (${error.code})` : errorMessage(error);
      message.error({ content: <span data-testid="channel-error">{text}</span>, duration: 8 });
    }
    await refresh();
  }

  function saved(write: AlertChannelWrite, created: boolean) {
    setEditing(null);
    message.success(t(created ? 'alerts.channels.created' : 'alerts.channels.saved', { name: write.channel.name }));
    if (write.secret) setSecret({ name: write.channel.name, secret: write.secret });
    void refresh();
  }

  if (channels.error) return <ErrorView error={channels.error} />;
  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <Space style={{ width: '100%', justifyContent: 'space-between' }} wrap>
        <Typography.Title level={3} style={{ margin: 0 }}>{t('alerts.channels.title')}</Typography.Title>
        {writable.length > 0 && <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing({})} data-testid="new-channel">{t('alerts.channels.new')}</Button>}
      </Space>
      <Typography.Text type="secondary">{t('alerts.channels.intro')}</Typography.Text>
      <Table<AlertChannelResource>
        rowKey="id" size="small" pagination={false} loading={channels.isLoading} dataSource={channels.data?.items ?? []} scroll={{ x: true }}
        data-testid="channels-table" locale={{ emptyText: t('alerts.channels.none') }}
        columns={[
          { title: t('common.namespace'), dataIndex: 'namespace' },
          {
            title: t('common.name'), dataIndex: 'name',
            render: (name: string, channel) => (
              <div style={{ minWidth: 120 }}>
                <span style={NOWRAP} data-testid="channel-name-cell">{name}</span>
                {channel.description && (
                  <Typography.Text type="secondary" ellipsis={{ tooltip: channel.description }} style={{ display: 'block', maxWidth: 260, fontSize: 12 }}>{channel.description}</Typography.Text>
                )}
              </div>
            ),
          },
          { title: t('alerts.channels.type'), dataIndex: 'type', render: (v: string) => <Tag style={NOWRAP}>{t(`alerts.channelTypes.${v}`)}</Tag> },
          { title: t('alerts.channels.locale'), dataIndex: 'locale', render: (v: string) => <span style={NOWRAP}>{t(`alerts.locales.${v}`)}</span> },
          { title: t('alerts.channels.lastSent'), dataIndex: 'lastSentAt', render: (v: string | null) => <span data-testid="channel-last-sent"><Instant value={v} /></span> },
          {
            title: t('alerts.channels.lastError'), dataIndex: 'lastError',
            render: (e: string | null, channel) => (e ? (
              <div data-testid="channel-last-error">
                <Typography.Text type="danger" ellipsis={{ tooltip: e }} style={{ maxWidth: 280 }}>{e}</Typography.Text>
                <Typography.Text type="secondary" style={{ display: 'block', fontSize: 12 }}><Instant value={channel.lastErrorAt} /></Typography.Text>
              </div>
            ) : '—'),
          },
          {
            title: t('alerts.actions'), key: 'actions',
            render: (_, channel) => can('editor', channel.namespace) && (
              <Space size="small">
                <Tooltip title={t('alerts.channels.testHelp')}>
                  <Button size="small" icon={<SendOutlined />} loading={testing === channel.id} onClick={() => test(channel)} data-testid="channel-test">{t('alerts.channels.test')}</Button>
                </Tooltip>
                <Button size="small" icon={<EditOutlined />} onClick={() => setEditing({ channel })} data-testid="channel-edit">{t('alerts.edit')}</Button>
                <Popconfirm title={t('alerts.channels.deleteConfirm', { name: channel.name })} description={t('alerts.channels.deleteHint')} okText={t('alerts.delete')}
                  okButtonProps={{ danger: true, 'data-testid': 'channel-delete-ok' } as never} cancelText={t('common.cancel')} onConfirm={() => remove(channel)}>
                  <Button size="small" danger icon={<DeleteOutlined />} data-testid="channel-delete">{t('alerts.delete')}</Button>
                </Popconfirm>
              </Space>
            ),
          },
        ]}
      />
      <Pager page={pages.page} hasNext={!!channels.data?.nextCursor} onPrevious={pages.previous} onNext={() => pages.next(channels.data?.nextCursor ?? null)} />
      {editing && (
        <ChannelFormModal channel={editing.channel} namespaces={writable} namespace={namespace && writable.includes(namespace) ? namespace : writable.includes('default') ? 'default' : writable[0] ?? 'default'}
          onClose={() => setEditing(null)} onSaved={saved} />
      )}
      <Modal open={secret !== null} title={t('alerts.channels.secretTitle', { name: secret?.name })} onOk={() => setSecret(null)} onCancel={() => setSecret(null)}
        cancelButtonProps={{ style: { display: 'none' } }} okText={t('alerts.channels.secretDone')} wrapClassName="channel-secret-modal">
        <Alert type="warning" showIcon title={t('alerts.channels.secretShownOnce')} style={{ marginBottom: 12 }} />
        <Typography.Paragraph copyable code data-testid="channel-generated-secret" style={{ wordBreak: 'break-all' }}>{secret?.secret}</Typography.Paragraph>
      </Modal>
    </Space>
  );
}
