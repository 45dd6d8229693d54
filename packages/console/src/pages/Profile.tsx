/**
 * "My access": who the console is signed in as, and the caller's roles: each grant with its
 * namespaces, and each namespace the header offers with the role that holds there (a user signed in
 * with SSO may be an editor in one namespace and a viewer in another).
 */
import type { RankedTokenRole } from '@ecron/contracts';
import { Card, Descriptions, Space, Table, Tag, Typography } from 'antd';
import { useTranslation } from 'react-i18next';
import { grantsAllow, grantsOf, useAuth } from '../auth.tsx';
import { useNamespace } from '../namespace.tsx';

const RANKED: RankedTokenRole[] = ['admin', 'editor', 'operator', 'viewer'];

export default function Profile() {
  const { t } = useTranslation();
  const { me, sso } = useAuth();
  const { choices } = useNamespace();
  if (!me) return null;
  const grants = grantsOf(me);
  const namespaces = [...new Set([...choices, ...grants.flatMap((g) => g.namespaces).filter((ns) => ns !== '*')])].sort();
  const roleIn = (namespace: string) => RANKED.find((role) => grantsAllow(grants, role, namespace))
    ?? (grants.some((g) => g.role === 'executor' && (g.namespaces.includes('*') || g.namespaces.includes(namespace))) ? 'executor' : null);
  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <Typography.Title level={3} style={{ margin: 0 }}>{t('profile.title')}</Typography.Title>
      <Card size="small">
        <Descriptions column={1} size="small">
          <Descriptions.Item label={t('profile.actor')}><span data-testid="profile-actor">{me.name ? `${me.name} (${me.actor})` : me.actor}</span></Descriptions.Item>
          <Descriptions.Item label={t('profile.via')}>{t(sso ? 'profile.viaSso' : 'profile.viaToken')}</Descriptions.Item>
        </Descriptions>
      </Card>
      <Typography.Paragraph type="secondary" style={{ margin: 0 }}>{t('profile.intro')}</Typography.Paragraph>
      <Typography.Title level={5} style={{ margin: 0 }}>{t('profile.grants')}</Typography.Title>
      <Table size="small" pagination={false} data-testid="profile-grants" rowKey={(_g, i) => String(i)} dataSource={grants}
        columns={[
          { title: t('profile.role'), dataIndex: 'role', render: (role: string) => <Tag color="blue">{t(`roles.${role}`)}</Tag> },
          {
            title: t('profile.namespaces'), dataIndex: 'namespaces',
            render: (list: string[], grant) => (
              <>
                {list.includes('*') ? t('profile.allNamespaces') : list.map((ns) => <Tag key={ns}>{ns}</Tag>)}
                {grant.groups && <Typography.Text type="secondary" data-testid="profile-groups"> {t('tokens.groupsList', { groups: grant.groups.join(', ') })}</Typography.Text>}
              </>
            ),
          },
        ]} />
      {namespaces.length > 0 && (
        <>
          <Typography.Title level={5} style={{ margin: 0 }}>{t('profile.byNamespace')}</Typography.Title>
          <Table size="small" pagination={false} data-testid="profile-namespaces" rowKey="namespace"
            dataSource={namespaces.map((namespace) => ({ namespace, role: roleIn(namespace) }))}
            columns={[
              { title: t('profile.namespace'), dataIndex: 'namespace' },
              { title: t('profile.roleThere'), dataIndex: 'role', render: (role: string | null) => (role ? <Tag color="blue">{t(`roles.${role}`)}</Tag> : '—') },
            ]} />
        </>
      )}
    </Space>
  );
}
