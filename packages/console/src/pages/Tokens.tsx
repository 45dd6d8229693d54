/**
 * API tokens (admins): list (with last use, expiry and an executor token's groups), create (the
 * secret is shown once; a role, namespaces, for role executor optional groups, an optional expiry), revoke.
 */
import { PlusOutlined } from '@ant-design/icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Form, Input, Modal, Popconfirm, Select, Space, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, ApiError, type TokenResource, type TokenRole } from '../api.ts';
import { ErrorView, errorMessage, Instant } from '../components/common.tsx';

/** In the order of what they may do; `executor` stands apart, for executor nodes. */
const ROLES = ['viewer', 'operator', 'editor', 'admin', 'executor', 'metrics'] as const satisfies readonly TokenRole[];
/** As the API's durations (`30d`, `12h`); the API checks the bounds. */
const DURATION = /^\d+(\.\d+)?(ms|s|m|h|d)$/;

export default function Tokens() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const client = useQueryClient();
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<string | null>(null);
  const [form] = Form.useForm<{ name: string; role: TokenRole; namespaces: string[]; groups?: string[]; expiresIn?: string }>();
  const role = Form.useWatch('role', form);
  const tokens = useQuery({ queryKey: ['tokens'], queryFn: () => api<{ items: TokenResource[] }>('GET', '/tokens') });

  async function create() {
    const { expiresIn, groups, ...values } = await form.validateFields();
    try {
      // Groups only for role executor (the API refuses them for the other roles); none: every group.
      const body = {
        ...values, namespaces: values.namespaces?.length ? values.namespaces : ['*'],
        ...(values.role === 'executor' && groups?.length ? { groups } : {}), ...(expiresIn?.trim() ? { expiresIn: expiresIn.trim() } : {}),
      };
      const created = await api<{ token: TokenResource; secret: string }>('POST', '/tokens', body);
      setCreating(false);
      form.resetFields();
      setSecret(created.secret);
      await client.invalidateQueries({ queryKey: ['tokens'] });
    } catch (error) {
      message.error(errorMessage(error));
    }
  }

  async function revoke(id: string) {
    try {
      await api('DELETE', `/tokens/${id}`);
      message.success(t('tokens.revoked'));
      await client.invalidateQueries({ queryKey: ['tokens'] });
    } catch (error) {
      // The API refuses to revoke the last admin token for all namespaces (LAST_ADMIN_TOKEN).
      const text = error instanceof ApiError && error.code === 'LAST_ADMIN_TOKEN' ? `${t('tokens.lastAdmin')} (${error.code})` : errorMessage(error);
      message.error({ content: <span data-testid="token-error">{text}</span>, duration: 8 });
    }
  }

  if (tokens.error) return <ErrorView error={tokens.error} />;
  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      <Space style={{ width: '100%', justifyContent: 'space-between' }} wrap>
        <Typography.Title level={3} style={{ margin: 0 }}>{t('tokens.title')}</Typography.Title>
        <Button type="primary" icon={<PlusOutlined />} onClick={() => setCreating(true)}>{t('tokens.create')}</Button>
      </Space>
      <Table<TokenResource>
        rowKey="id" size="small" pagination={false} loading={tokens.isLoading} dataSource={tokens.data?.items ?? []} scroll={{ x: true }}
        columns={[
          { title: t('common.name'), dataIndex: 'name' },
          { title: t('tokens.role'), dataIndex: 'role', render: (r: string) => t(`roles.${r}`) },
          {
            // An executor token's groups under its namespaces, rather than a column of their own that every other token leaves empty.
            title: t('tokens.namespaces'), dataIndex: 'namespaces',
            render: (n: string[], token) => (
              <Space direction="vertical" size={0}>
                <span>{n.join(', ')}</span>
                {token.groups && <Typography.Text type="secondary" data-testid="token-groups">{t('tokens.groupsList', { groups: token.groups.join(', ') })}</Typography.Text>}
              </Space>
            ),
          },
          { title: t('task.created'), dataIndex: 'createdAt', render: (v: string) => <Instant value={v} /> },
          { title: t('tokens.lastUsed'), dataIndex: 'lastUsedAt', render: (v: string | null) => <span data-testid="token-last-used"><Instant value={v} /></span> },
          {
            title: t('tokens.expiresAt'), dataIndex: 'expiresAt',
            render: (v: string | null, token) => (
              <Space size={4} data-testid="token-expires-at"><Instant value={v} />{token.expired && <Tag color="red">{t('tokens.expired')}</Tag>}</Space>
            ),
          },
          { title: t('tokens.revokedAt'), dataIndex: 'revokedAt', render: (v: string | null) => <span data-testid="token-revoked-at"><Instant value={v} /></span> },
          {
            title: t('tokens.actions'), key: 'actions',
            render: (_, token) => token.revokedAt === null && (
              <Popconfirm title={t('tokens.revokeConfirm', { name: token.name })} okText={t('tokens.revoke')} cancelText={t('common.cancel')} okButtonProps={{ danger: true }} onConfirm={() => revoke(token.id)}>
                <Button size="small" danger>{t('tokens.revoke')}</Button>
              </Popconfirm>
            ),
          },
        ]}
      />
      <Modal open={creating} wrapClassName="token-create-modal" title={t('tokens.create')} onOk={create} onCancel={() => setCreating(false)} okText={t('tokens.create')} cancelText={t('common.cancel')}>
        <Form form={form} layout="vertical" initialValues={{ role: 'viewer', namespaces: [] }}>
          <Form.Item name="name" label={t('common.name')} rules={[{ required: true }]}><Input data-testid="token-name" /></Form.Item>
          <Form.Item name="role" label={t('tokens.role')} extra={role && <span data-testid="token-role-help">{t(`tokens.roleHelp.${role}`)}</span>}>
            <Select options={ROLES.map((r) => ({ value: r, label: t(`roles.${r}`) }))} />
          </Form.Item>
          <Form.Item name="namespaces" label={t('tokens.namespaces')} extra={t('tokens.namespacesHelp')}><Select mode="tags" /></Form.Item>
          {role === 'executor' && (
            <Form.Item name="groups" label={t('tokens.groups')} extra={t('tokens.groupsHelp')}>
              <Select mode="tags" tokenSeparators={[',', ' ']} data-testid="token-groups-input" />
            </Form.Item>
          )}
          <Form.Item name="expiresIn" label={t('tokens.expiresIn')} extra={t('tokens.expiresInHelp')}
            rules={[{ validator: async (_, v?: string) => { if (v?.trim() && !DURATION.test(v.trim())) throw new Error(t('tokens.expiresInInvalid')); } }]}>
            <Input placeholder="30d" data-testid="token-expires-in" />
          </Form.Item>
        </Form>
      </Modal>
      <Modal open={secret !== null} wrapClassName="token-secret-modal" title={t('tokens.createdTitle')} onOk={() => setSecret(null)} onCancel={() => setSecret(null)} cancelButtonProps={{ style: { display: 'none' } }}>
        <Alert type="warning" showIcon message={t('tokens.shownOnce')} style={{ marginBottom: 12 }} />
        <Typography.Paragraph copyable code data-testid="new-token-secret">{secret}</Typography.Paragraph>
      </Modal>
    </Space>
  );
}
