/**
 * Sign-in: with the organisation's identity provider when the server offers it (`GET /auth/sso`:
 * the button leaves for the provider and comes back signed in), or with an API token, kept in
 * sessionStorage (closing the tab signs out).
 */
import { KeyOutlined, LoginOutlined } from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import { Alert, Button, Card, Divider, Form, Input, Space, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, ApiError, type SsoStatus } from '../api.ts';
import { LanguageSwitch } from '../components/LanguageSwitch.tsx';
import { useAuth } from '../auth.tsx';

export function Login() {
  const { t } = useTranslation();
  const { signIn, expired } = useAuth();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const sso = useQuery({ queryKey: ['sso'], queryFn: () => api<SsoStatus>('GET', '/auth/sso', undefined, null), staleTime: Infinity, retry: false });
  // Set by main.tsx when the provider sent the browser back with ?sso_error=CODE; shown once.
  const [ssoError] = useState(() => {
    const code = sessionStorage.getItem('ecron.ssoError');
    sessionStorage.removeItem('ecron.ssoError');
    return code;
  });

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
          {expired && <Alert type="warning" showIcon message={t(expired === 'sso' ? 'login.ssoExpired' : 'login.expired')} />}
          {error && <Alert type="error" showIcon message={error} data-testid="login-error" />}
          {ssoError && (
            <Alert type="error" showIcon data-testid="sso-error"
              message={t(`login.ssoErrors.${ssoError}`, { defaultValue: t('login.ssoErrors.other', { code: ssoError }) })} />
          )}
          {sso.data?.enabled && (
            <>
              <Button type="primary" size="large" block icon={<LoginOutlined />} href={sso.data.loginUrl ?? '/auth/sso/login'} data-testid="sso-sign-in">
                {t('login.sso', { name: sso.data.name ?? 'SSO' })}
              </Button>
              <Divider plain style={{ margin: '4px 0' }}><Typography.Text type="secondary" style={{ fontSize: 12 }}>{t('login.or')}</Typography.Text></Divider>
            </>
          )}
          <Form layout="vertical" onFinish={submit} requiredMark={false}>
            <Form.Item name="token" label={t('login.token')} rules={[{ required: true, message: t('login.tokenRequired') }]}>
              <Input.Password prefix={<KeyOutlined />} placeholder="ecr_…" autoFocus autoComplete="off" />
            </Form.Item>
            <Button type={sso.data?.enabled ? 'default' : 'primary'} htmlType="submit" loading={busy} block>{t('login.signIn')}</Button>
          </Form>
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>{t('login.hint')}</Typography.Text>
        </Space>
      </Card>
    </div>
  );
}
