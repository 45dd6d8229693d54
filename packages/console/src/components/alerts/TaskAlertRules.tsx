/**
 * A task's alert rules, on its page: the rules of its namespace whose scope is this task (the list
 * route filters by namespace, kind and enabled only, so the scope is matched here), and, for
 * editors, "add a failure alert": a `failure` rule scoped to the task, through the channels picked,
 * named `<task>-failure` to start with. Rules over labels or the whole namespace may watch the task
 * too: the rules page shows them.
 */
import { PlusOutlined } from '@ant-design/icons';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Card, Col, Form, Input, Row, Select, Space, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { ApiError, type TaskResource } from '../../api.ts';
import { ALL, listChannels, listRules, saveRule } from '../../alerts/api.ts';
import { ruleFieldOf } from '../../alerts/rule-form.ts';
import { SEVERITIES, type AlertRuleResource, type AlertSeverity } from '../../alerts/types.ts';
import { useAuth } from '../../auth.tsx';
import { errorMessage, NOWRAP } from '../common.tsx';
import { RuleParams, SeverityTag } from './AlertTags.tsx';

interface QuickValues {
  name: string;
  channels: string[];
  severity: AlertSeverity;
}

export function TaskAlertRules({ task }: { task: TaskResource }) {
  const { t } = useTranslation();
  const { can } = useAuth();
  const { message } = App.useApp();
  const client = useQueryClient();
  const [form] = Form.useForm<QuickValues>();
  const [failure, setFailure] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const rules = useQuery({ queryKey: ['alert-rules', 'namespace', task.namespace], queryFn: () => listRules({ namespace: task.namespace, limit: ALL }) });
  const editor = can('editor', task.namespace);
  const channels = useQuery({
    queryKey: ['alert-channels', 'names', task.namespace], queryFn: () => listChannels({ namespace: task.namespace, limit: ALL }), enabled: editor,
  });
  const mine = (rules.data?.items ?? []).filter((rule) => rule.scope.taskId === task.id);
  const channelNames = (channels.data?.items ?? []).map((c) => c.name);

  async function add() {
    let values: QuickValues;
    try {
      values = await form.validateFields();
    } catch {
      return;
    }
    setFailure(null);
    setSaving(true);
    try {
      const rule = await saveRule({
        namespace: task.namespace, name: values.name.trim(), on: 'failure', scope: { taskId: task.id }, channels: values.channels, severity: values.severity,
      });
      message.success(t('alerts.taskRules.added', { name: rule.name }));
      form.resetFields();
      await client.invalidateQueries({ queryKey: ['alert-rules'] });
    } catch (error) {
      setFailure(errorMessage(error));
      if (error instanceof ApiError) {
        const fields = error.code === 'ALERT_RULE_NAME_TAKEN' ? [{ name: 'name', errors: [error.message] }]
          : error.issues.map((i) => ({ name: ruleFieldOf(i.path)?.[0], errors: [i.message] })).filter((f) => f.name === 'name' || f.name === 'channels' || f.name === 'severity');
        form.setFields(fields as never);
      }
    } finally {
      setSaving(false);
    }
  }

  return (
    <Space orientation="vertical" style={{ width: '100%' }} data-testid="task-alert-rules">
      <Typography.Text type="secondary">{t('alerts.taskRules.intro')}</Typography.Text>
      <Table<AlertRuleResource>
        rowKey="id" size="small" pagination={false} loading={rules.isLoading} dataSource={mine} scroll={{ x: true }}
        locale={{ emptyText: t('alerts.taskRules.none') }}
        columns={[
          { title: t('common.name'), dataIndex: 'name', render: (name: string, rule) => <Link to={`/alerts/rules?id=${rule.id}`} style={NOWRAP}>{name}</Link> },
          {
            title: t('alerts.rules.on'), dataIndex: 'on',
            render: (kind: string, rule) => <span style={NOWRAP}>{t(`alerts.kinds.${kind}`)} <RuleParams rule={rule} /></span>,
          },
          { title: t('alerts.rules.channels'), dataIndex: 'channels', render: (c: string[]) => <Space size={[0, 4]} wrap>{c.map((name) => <Tag key={name}>{name}</Tag>)}</Space> },
          { title: t('alerts.rules.severity'), dataIndex: 'severity', render: (s: AlertSeverity) => <SeverityTag severity={s} /> },
          { title: t('alerts.rules.enabled'), dataIndex: 'enabled', render: (v: boolean) => <Tag color={v ? 'success' : 'default'}>{t(v ? 'alerts.rules.enabledTag' : 'alerts.rules.disabledTag')}</Tag> },
          { title: '', key: 'incidents', render: (_, rule) => <Link to={`/alerts/incidents?ruleId=${rule.id}`} style={NOWRAP}>{t('alerts.rules.incidents')}</Link> },
        ]}
      />
      {editor && (
        <Card size="small" title={t('alerts.taskRules.quick')}>
          <Typography.Paragraph type="secondary">{t('alerts.taskRules.quickHelp')}</Typography.Paragraph>
          <Form form={form} layout="vertical" name="quick-failure-rule" initialValues={{ name: `${task.name}-failure`, channels: [], severity: 'critical' }}>
            <Row gutter={12}>
              <Col xs={24} md={8}>
                <Form.Item name="name" label={t('alerts.taskRules.name')} rules={[{ required: true, whitespace: true, message: t('alerts.rules.nameRequired') }]}>
                  <Input data-testid="quick-rule-name" />
                </Form.Item>
              </Col>
              <Col xs={24} md={10}>
                <Form.Item name="channels" label={t('alerts.rules.channels')} rules={[{ required: true, type: 'array', min: 1, message: t('alerts.rules.channelsRequired') }]}>
                  <Select mode="multiple" aria-label={t('alerts.rules.channels')} data-testid="quick-rule-channels" loading={channels.isLoading}
                    options={channelNames.map((c) => ({ value: c, label: c }))} />
                </Form.Item>
              </Col>
              <Col xs={24} md={6}>
                <Form.Item name="severity" label={t('alerts.rules.severity')}>
                  <Select aria-label={t('alerts.rules.severity')} options={SEVERITIES.map((s) => ({ value: s, label: t(`alerts.severity.${s}`) }))} />
                </Form.Item>
              </Col>
            </Row>
            {channels.isSuccess && channelNames.length === 0 && (
              <Alert type="info" showIcon style={{ marginBottom: 12 }}
                title={<>{t('alerts.rules.noChannels', { namespace: task.namespace })} <Link to="/alerts/channels">{t('alerts.rules.toChannels')}</Link></>} />
            )}
            {failure && <Alert type="error" showIcon style={{ marginBottom: 12 }} title={<span data-testid="quick-rule-error">{failure}</span>} />}
            <Button type="primary" icon={<PlusOutlined />} loading={saving} onClick={add} data-testid="quick-rule-add">{t('alerts.taskRules.add')}</Button>
          </Form>
        </Card>
      )}
      <Link to="/alerts/rules">{t('alerts.taskRules.allRules')}</Link>
    </Space>
  );
}
