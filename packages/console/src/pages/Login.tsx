/** Sign-in with an API token. The token is kept in sessionStorage: closing the tab signs out. */
import { KeyOutlined } from '@ant-design/icons';
import { Alert, Button, Card, Form, Input, Space, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api.ts';
import { LanguageSwitch } from '../components/LanguageSwitch.tsx';
import { useAuth } from '../auth.tsx';

export function Login() {
  const { t } = useTranslation();
  const { signIn, expired } = useAuth();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(values: { token: string }) {
    setBusy(true);
    setError(null);
    try {
      await signIn(values.token.trim());
    } catch (e) {
      setError(e instanceof ApiError && e.status === 401 ? t('login.refused') : t('login.failed', { message: (e as Error).message }));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div style={{ minHeight: '100vh', display: 'flex', alignItems: 'center', justifyContent: 'center', background: '#f5f5f5', padding: 16 }}>
      <Card style={{ width: 420, maxWidth: '100%' }}>
        <Space direction="vertical" style={{ width: '100%' }} size="middle">
          <Space style={{ width: '100%', justifyContent: 'space-between' }}>
            <Typography.Title level={3} style={{ margin: 0 }}>ecron</Typography.Title>
            <LanguageSwitch />
          </Space>
          <Typography.Paragraph type="secondary">{t('login.intro')}</Typography.Paragraph>
          {expired && <Alert type="warning" showIcon message={t('login.expired')} />}
          {error && <Alert type="error" showIcon message={error} data-testid="login-error" />}
          <Form layout="vertical" onFinish={submit} requiredMark={false}>
            <Form.Item name="token" label={t('login.token')} rules={[{ required: true, message: t('login.tokenRequired') }]}>
              <Input.Password prefix={<KeyOutlined />} placeholder="ecr_…" autoFocus autoComplete="off" />
            </Form.Item>
            <Button type="primary" htmlType="submit" loading={busy} block>{t('login.signIn')}</Button>
          </Form>
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>{t('login.hint')}</Typography.Text>
        </Space>
      </Card>
    </div>
  );
}
