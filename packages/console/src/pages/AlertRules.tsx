/**
 * Alert rules of the header's namespace (or all), filtered by kind and by whether they are enabled;
 * `?id=` shows one rule (an incident's page links here). Each row says the kind with its
 * parameters, the scope, the channels, the severity and whether it is enabled, and links to its
 * incidents. Editors of a rule's namespace create, edit, enable or disable, and delete it.
 */
import { DeleteOutlined, EditOutlined, PlusOutlined } from '@ant-design/icons';
import { keepPreviousData, useQuery, useQueryClient } from '@tanstack/react-query';
import { App, Button, Popconfirm, Select, Space, Switch, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useSearchParams } from 'react-router-dom';
import { deleteRule, getRule, listRules, setRuleEnabled } from '../alerts/api.ts';
import { RULE_KINDS, type AlertRuleKind, type AlertRuleResource } from '../alerts/types.ts';
import { useAuth } from '../auth.tsx';
import { RuleParams, ScopeText, SeverityTag } from '../components/alerts/AlertTags.tsx';
import { RuleFormModal } from '../components/alerts/RuleFormModal.tsx';
import { ErrorView, errorMessage, NOWRAP } from '../components/common.tsx';
import { Pager } from '../components/Pager.tsx';
import { useCursorPages } from '../components/useCursorPages.ts';
import { useNamespace } from '../namespace.tsx';

export default function AlertRules() {
  const { t } = useTranslation();
  const { can } = useAuth();
  const { message } = App.useApp();
  const client = useQueryClient();
  const { namespace, choices } = useNamespace();
  const [search, setSearch] = useSearchParams();
  const only = search.get('id');
  const [on, setOn] = useState<AlertRuleKind | undefined>();
  const [enabled, setEnabled] = useState<boolean | undefined>();
  const [editing, setEditing] = useState<{ rule?: AlertRuleResource } | null>(null);
  const [toggling, setToggling] = useState<string | null>(null);
  const pages = useCursorPages();
  const rules = useQuery({
    queryKey: ['alert-rules', 'list', namespace, on, enabled, pages.cursor],
    queryFn: () => listRules({ namespace, on, enabled, cursor: pages.cursor }),
    placeholderData: keepPreviousData,
    enabled: !only,
  });
  const one = useQuery({ queryKey: ['alert-rules', 'one', only], queryFn: () => getRule(only!), enabled: !!only });
  const writable = choices.filter((ns) => can('editor', ns));
  const refresh = () => client.invalidateQueries({ queryKey: ['alert-rules'] });
  const items = only ? (one.data ? [one.data] : []) : rules.data?.items ?? [];

  async function toggle(rule: AlertRuleResource, value: boolean) {
    setToggling(rule.id);
    try {
      await setRuleEnabled(rule.id, value);
      message.success(t(value ? 'alerts.rules.enabledMessage' : 'alerts.rules.disabledMessage', { name: rule.name }));
    } catch (error) {
      message.error(errorMessage(error));
    } finally {
      setToggling(null);
      await refresh();
    }
  }

  async function remove(rule: AlertRuleResource) {
    try {
      await deleteRule(rule.id);
      message.success(t('alerts.rules.deleted', { name: rule.name }));
    } catch (error) {
      message.error({ content: <span data-testid="rule-error">{errorMessage(error)}</span>, duration: 8 });
    }
    await refresh();
  }

  function saved(rule: AlertRuleResource, created: boolean) {
    setEditing(null);
    message.success(t(created ? 'alerts.rules.created' : 'alerts.rules.saved', { name: rule.name }));
    void refresh();
  }

  if (rules.error || one.error) return <ErrorView error={rules.error ?? one.error} />;
  return (
    <Space orientation="vertical" size="middle" style={{ width: '100%' }}>
      <Space style={{ width: '100%', justifyContent: 'space-between' }} wrap>
        <Typography.Title level={3} style={{ margin: 0 }}>{t('alerts.rules.title')}</Typography.Title>
        {writable.length > 0 && <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing({})} data-testid="new-rule">{t('alerts.rules.new')}</Button>}
      </Space>
      <Space wrap>
        <Select allowClear placeholder={t('alerts.rules.allKinds')} aria-label={t('alerts.rules.on')} style={{ width: 220 }} value={on}
          onChange={(v?: AlertRuleKind) => { pages.reset(); setOn(v); }} options={RULE_KINDS.map((k) => ({ value: k, label: t(`alerts.kinds.${k}`) }))} />
        <Select allowClear placeholder={t('alerts.rules.enabledOrNot')} aria-label={t('alerts.rules.enabled')} style={{ width: 180 }} value={enabled === undefined ? undefined : String(enabled)}
          onChange={(v?: string) => { pages.reset(); setEnabled(v === undefined ? undefined : v === 'true'); }}
          options={[{ value: 'true', label: t('alerts.rules.enabledOnly') }, { value: 'false', label: t('alerts.rules.disabledOnly') }]} />
        {only && <Tag closable onClose={() => setSearch({})}>{t('alerts.rules.onlyOne', { name: one.data?.name ?? only })}</Tag>}
      </Space>
      <Table<AlertRuleResource>
        rowKey="id" size="small" pagination={false} loading={only ? one.isLoading : rules.isLoading} dataSource={items} scroll={{ x: true }}
        data-testid="rules-table" locale={{ emptyText: t('alerts.rules.none') }}
        columns={[
          { title: t('common.namespace'), dataIndex: 'namespace' },
          {
            title: t('common.name'), dataIndex: 'name',
            render: (name: string, rule) => (
              <div style={{ minWidth: 120 }}>
                <span style={NOWRAP}>{name}</span>
                {rule.description && (
                  <Typography.Text type="secondary" ellipsis={{ tooltip: rule.description }} style={{ display: 'block', maxWidth: 260, fontSize: 12 }}>{rule.description}</Typography.Text>
                )}
              </div>
            ),
          },
          {
            title: t('alerts.rules.on'), dataIndex: 'on',
            render: (kind: AlertRuleKind, rule) => (
              <div>
                <span style={NOWRAP} data-testid="rule-kind">{t(`alerts.kinds.${kind}`)}</span>
                <div><RuleParams rule={rule} /></div>
              </div>
            ),
          },
          { title: t('alerts.rules.scope'), dataIndex: 'scope', render: (_, rule) => <ScopeText scope={rule.scope} /> },
          { title: t('alerts.rules.channels'), dataIndex: 'channels', render: (c: string[]) => <Space size={[0, 4]} wrap>{c.map((name) => <Tag key={name} style={NOWRAP}>{name}</Tag>)}</Space> },
          { title: t('alerts.rules.severity'), dataIndex: 'severity', render: (s: AlertRuleResource['severity']) => <SeverityTag severity={s} /> },
          {
            title: t('alerts.rules.enabled'), dataIndex: 'enabled',
            render: (value: boolean, rule) => (
              <Switch size="small" checked={value} loading={toggling === rule.id} disabled={!can('editor', rule.namespace)} aria-label={t('alerts.rules.enabled')}
                data-testid="rule-enabled" onChange={(next) => toggle(rule, next)} />
            ),
          },
          {
            title: t('alerts.actions'), key: 'actions',
            render: (_, rule) => (
              <Space size="small">
                <Link to={`/alerts/incidents?ruleId=${rule.id}`} style={NOWRAP}>{t('alerts.rules.incidents')}</Link>
                {can('editor', rule.namespace) && (
                  <>
                    <Button size="small" icon={<EditOutlined />} onClick={() => setEditing({ rule })} data-testid="rule-edit">{t('alerts.edit')}</Button>
                    <Popconfirm title={t('alerts.rules.deleteConfirm', { name: rule.name })} description={t('alerts.rules.deleteHint')} okText={t('alerts.delete')}
                      okButtonProps={{ danger: true, 'data-testid': 'rule-delete-ok' } as never} cancelText={t('common.cancel')} onConfirm={() => remove(rule)}>
                      <Button size="small" danger icon={<DeleteOutlined />} data-testid="rule-delete">{t('alerts.delete')}</Button>
                    </Popconfirm>
                  </>
                )}
              </Space>
            ),
          },
        ]}
      />
      <Pager page={pages.page} hasNext={!!rules.data?.nextCursor} onPrevious={pages.previous} onNext={() => pages.next(rules.data?.nextCursor ?? null)} />
      {editing && (
        <RuleFormModal rule={editing.rule} namespaces={writable} namespace={namespace && writable.includes(namespace) ? namespace : writable.includes('default') ? 'default' : writable[0] ?? 'default'}
          onClose={() => setEditing(null)} onSaved={saved} />
      )}
    </Space>
  );
}
