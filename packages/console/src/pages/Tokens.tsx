/** API tokens (admins): list, create (the secret is shown once), revoke. */
import { PlusOutlined } from '@ant-design/icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Form, Input, Modal, Popconfirm, Select, Space, Table, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, ApiError, type TokenResource } from '../api.ts';
import { ErrorView, errorMessage, Instant } from '../components/common.tsx';

export default function Tokens() {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const client = useQueryClient();
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<string | null>(null);
  const [form] = Form.useForm<{ name: string; role: string; namespaces: string[] }>();
  const tokens = useQuery({ queryKey: ['tokens'], queryFn: () => api<{ items: TokenResource[] }>('GET', '/tokens') });

  async function create() {
    const values = await form.validateFields();
    try {
      const created = await api<{ token: TokenResource; secret: string }>('POST', '/tokens', { ...values, namespaces: values.namespaces?.length ? values.namespaces : ['*'] });
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
          { title: t('tokens.namespaces'), dataIndex: 'namespaces', render: (n: string[]) => n.join(', ') },
          { title: t('task.created'), dataIndex: 'createdAt', render: (v: string) => <Instant value={v} /> },
          { title: t('tokens.lastUsed'), dataIndex: 'lastUsedAt', render: (v: string | null) => <Instant value={v} /> },
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
          <Form.Item name="role" label={t('tokens.role')}>
            <Select options={['viewer', 'editor', 'admin'].map((r) => ({ value: r, label: t(`roles.${r}`) }))} />
          </Form.Item>
          <Form.Item name="namespaces" label={t('tokens.namespaces')} extra={t('tokens.namespacesHelp')}><Select mode="tags" /></Form.Item>
        </Form>
      </Modal>
      <Modal open={secret !== null} wrapClassName="token-secret-modal" title={t('tokens.createdTitle')} onOk={() => setSecret(null)} onCancel={() => setSecret(null)} cancelButtonProps={{ style: { display: 'none' } }}>
        <Alert type="warning" showIcon message={t('tokens.shownOnce')} style={{ marginBottom: 12 }} />
        <Typography.Paragraph copyable code data-testid="new-token-secret">{secret}</Typography.Paragraph>
      </Modal>
    </Space>
  );
}
