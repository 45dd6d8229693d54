/** The shell: sign-in gate, side menu (a drawer-like collapsed menu on phones), header (namespace and language switches) and routes. */
import {
  AlertOutlined, ApartmentOutlined, AppstoreOutlined, AuditOutlined, CloseOutlined, ClusterOutlined, DashboardOutlined, DeploymentUnitOutlined, KeyOutlined, LogoutOutlined, MenuOutlined, ScheduleOutlined, UnorderedListOutlined,
} from '@ant-design/icons';
import { App as AntApp, Button, ConfigProvider, Grid, Layout, Menu, Space, Spin, Tag, Typography } from 'antd';
import enUS from 'antd/locale/en_US';
import zhCN from 'antd/locale/zh_CN';
import { lazy, Suspense, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, Navigate, Route, Routes, useLocation } from 'react-router-dom';
import { useAuth } from './auth.tsx';
import type { Language } from './i18n.ts';
import { LanguageSwitch } from './components/LanguageSwitch.tsx';
import { LiveIndicator } from './components/LiveIndicator.tsx';
import { NamespaceSwitch } from './components/NamespaceSwitch.tsx';
import { viewerZone } from './format.ts';
import { NamespaceProvider, useNamespace } from './namespace.tsx';
import { Login } from './pages/Login.tsx';

const Dashboard = lazy(() => import('./pages/Dashboard.tsx'));
const Tasks = lazy(() => import('./pages/Tasks.tsx'));
const TaskForm = lazy(() => import('./pages/TaskForm.tsx'));
const TaskDetail = lazy(() => import('./pages/TaskDetail.tsx'));
const Workflows = lazy(() => import('./pages/Workflows.tsx'));
const WorkflowDetail = lazy(() => import('./pages/WorkflowDetail.tsx'));
const WorkflowEditor = lazy(() => import('./pages/WorkflowEditor.tsx'));
const WorkflowRunDetail = lazy(() => import('./pages/WorkflowRunDetail.tsx'));
const Runs = lazy(() => import('./pages/Runs.tsx'));
const RunDetail = lazy(() => import('./pages/RunDetail.tsx'));
const Tokens = lazy(() => import('./pages/Tokens.tsx'));
const Nodes = lazy(() => import('./pages/Nodes.tsx'));
const Executors = lazy(() => import('./pages/Executors.tsx'));
const Namespaces = lazy(() => import('./pages/Namespaces.tsx'));
const Audit = lazy(() => import('./pages/Audit.tsx'));
const Profile = lazy(() => import('./pages/Profile.tsx'));
const Incidents = lazy(() => import('./pages/Incidents.tsx'));
const IncidentDetail = lazy(() => import('./pages/IncidentDetail.tsx'));
const AlertChannels = lazy(() => import('./pages/AlertChannels.tsx'));
const AlertRules = lazy(() => import('./pages/AlertRules.tsx'));

export function App() {
  const { i18n } = useTranslation();
  const language = (i18n.language === 'zh' ? 'zh' : 'en') as Language;
  return (
    <ConfigProvider locale={language === 'zh' ? zhCN : enUS} theme={{ token: { colorPrimary: '#1f6feb' } }}>
      <AntApp>
        <Gate />
      </AntApp>
    </ConfigProvider>
  );
}

function Gate() {
  const { signedIn } = useAuth();
  if (!signedIn) return <Login />;
  return <NamespaceProvider><Shell /></NamespaceProvider>;
}


function Shell() {
  const { t } = useTranslation();
  const { me, signOut, can } = useAuth();
  const { namespace } = useNamespace();
  // The lists start again (first page, filters cleared) when the header's namespace changes.
  const scope = namespace ?? '*';
  const location = useLocation();
  const screens = Grid.useBreakpoint();
  const narrow = !screens.md;
  const [collapsed, setCollapsed] = useState(true);
  // A workflow run's page belongs to the Workflows entry.
  const first = location.pathname.split('/')[1] ?? '';
  const section = first === 'alerts' ? `/alerts/${location.pathname.split('/')[2] ?? ''}` : '/' + (first === 'workflow-runs' ? 'workflows' : first);
  const items = [
    { key: '/', icon: <DashboardOutlined />, label: <Link to="/">{t('nav.dashboard')}</Link> },
    { key: '/tasks', icon: <ScheduleOutlined />, label: <Link to="/tasks">{t('nav.tasks')}</Link> },
    { key: '/workflows', icon: <ApartmentOutlined />, label: <Link to="/workflows">{t('nav.workflows')}</Link> },
    { key: '/runs', icon: <UnorderedListOutlined />, label: <Link to="/runs">{t('nav.runs')}</Link> },
    { key: '/nodes', icon: <ClusterOutlined />, label: <Link to="/nodes">{t('nav.nodes')}</Link> },
    { key: '/executors', icon: <DeploymentUnitOutlined />, label: <Link to="/executors">{t('nav.executors')}</Link> },
    ...(can('viewer') ? [
      {
        key: '/alerts', icon: <AlertOutlined />, label: t('nav.alerts'),
        children: [
          { key: '/alerts/incidents', label: <Link to="/alerts/incidents">{t('nav.incidents')}</Link> },
          { key: '/alerts/rules', label: <Link to="/alerts/rules">{t('nav.alertRules')}</Link> },
          { key: '/alerts/channels', label: <Link to="/alerts/channels">{t('nav.alertChannels')}</Link> },
        ],
      },
      { key: '/namespaces', icon: <AppstoreOutlined />, label: <Link to="/namespaces">{t('nav.namespaces')}</Link> },
    ] : []),
    ...(can('admin') ? [
      { key: '/tokens', icon: <KeyOutlined />, label: <Link to="/tokens">{t('nav.tokens')}</Link> },
      { key: '/audit', icon: <AuditOutlined />, label: <Link to="/audit">{t('nav.audit')}</Link> },
    ] : []),
  ];
  return (
    <Layout style={{ minHeight: '100vh' }}>
      <Layout.Sider
        breakpoint="md"
        collapsedWidth={0}
        collapsed={narrow ? collapsed : false}
        trigger={null}
        width={200}
        theme="dark"
        // On a phone the menu opens over the page (from the header's button) instead of squeezing it.
        style={narrow ? { position: 'fixed', insetBlock: 0, left: 0, zIndex: 100 } : undefined}
      >
        <Space style={{ color: '#fff', fontWeight: 600, fontSize: 18, padding: '16px 24px' }}>
          ecron
          {narrow && <Button type="text" size="small" icon={<CloseOutlined style={{ color: '#fff' }} />} aria-label={t('header.closeMenu')} onClick={() => setCollapsed(true)} />}
        </Space>
        <Menu theme="dark" mode="inline" selectedKeys={[section]} defaultOpenKeys={['/alerts']} items={items} onClick={() => narrow && setCollapsed(true)} />
      </Layout.Sider>
      <Layout>
        <Layout.Header style={{ background: '#fff', padding: narrow ? '0 12px' : '0 24px', display: 'flex', justifyContent: narrow ? 'space-between' : 'flex-end', alignItems: 'center', gap: 12, flexWrap: 'wrap', height: 'auto', minHeight: 64, lineHeight: '32px' }}>
          {narrow && <Button icon={<MenuOutlined />} aria-label={t('header.openMenu')} aria-expanded={!collapsed} onClick={() => setCollapsed(false)} data-testid="open-menu" />}
          <Space wrap size="small">
            <LiveIndicator />
            {!narrow && <Typography.Text type="secondary">{t('header.zone', { zone: viewerZone() })}</Typography.Text>}
            {me && (
              <Link to="/profile" title={t('profile.open')}>
                <Tag color="blue" data-testid="role-tag" style={{ cursor: 'pointer' }}>
                  {me.name ? `${me.name} · ` : ''}{t(`roles.${me.role}`)}{me.namespaces.includes('*') ? '' : ` · ${me.namespaces.join(', ')}`}
                </Tag>
              </Link>
            )}
            {can('viewer') && <NamespaceSwitch width={narrow ? 150 : 180} />}
            <LanguageSwitch />
            <Button size="small" icon={<LogoutOutlined />} onClick={() => signOut()} data-testid="sign-out">{t('header.signOut')}</Button>
          </Space>
        </Layout.Header>
        <Layout.Content style={{ padding: narrow ? 12 : 24 }}>
          <Suspense fallback={<Spin />}>
            <Routes>
              <Route path="/" element={<Dashboard />} />
              <Route path="/tasks" element={<Tasks key={scope} />} />
              <Route path="/tasks/new" element={<TaskForm />} />
              <Route path="/tasks/:id" element={<TaskDetail />} />
              <Route path="/tasks/:id/edit" element={<TaskForm />} />
              <Route path="/workflows" element={<Workflows key={scope} />} />
              <Route path="/workflows/new" element={<WorkflowEditor />} />
              <Route path="/workflows/:id" element={<WorkflowDetail />} />
              <Route path="/workflows/:id/edit" element={<WorkflowEditor />} />
              <Route path="/workflow-runs/:id" element={<WorkflowRunDetail />} />
              <Route path="/runs" element={<Runs key={scope} />} />
              <Route path="/runs/:id" element={<RunDetail />} />
              <Route path="/nodes" element={<Nodes />} />
              <Route path="/executors" element={<Executors />} />
              <Route path="/alerts" element={<Navigate to="/alerts/incidents" replace />} />
              <Route path="/alerts/incidents" element={<Incidents key={scope} />} />
              <Route path="/alerts/incidents/:id" element={<IncidentDetail />} />
              <Route path="/alerts/rules" element={<AlertRules key={scope} />} />
              <Route path="/alerts/channels" element={<AlertChannels key={scope} />} />
              <Route path="/namespaces" element={<Namespaces />} />
              <Route path="/tokens" element={<Tokens />} />
              <Route path="/audit" element={<Audit />} />
              <Route path="/profile" element={<Profile />} />
              <Route path="*" element={<Navigate to="/" replace />} />
            </Routes>
          </Suspense>
        </Layout.Content>
      </Layout>
    </Layout>
  );
}
