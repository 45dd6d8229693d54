/**
 * Create or edit an alert rule: its kind (`on`) with only that kind's parameters, its scope (a
 * task or a workflow of the namespace picked by name, tasks with labels, or the whole namespace;
 * only the latter for the kinds that watch a namespace), channels picked among the namespace's,
 * severity, repeat interval, resolved notifications and whether it is enabled. The API's field
 * issues (`count`, `scope.taskId`, `channels[0]`) are shown on their fields and listed above the form.
 */
import { useQuery } from '@tanstack/react-query';
import { Alert, Col, Divider, Form, Input, InputNumber, Modal, Radio, Row, Select, Switch } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { api, ApiError, qs, type FieldIssue, type Page, type TaskResource, type WorkflowResource } from '../../api.ts';
import { ALL, listChannels, saveRule } from '../../alerts/api.ts';
import { emptyRuleForm, ruleBody, ruleFieldOf, ruleToForm, type RuleFormValues } from '../../alerts/rule-form.ts';
import {
  KIND_PARAMS, NAMESPACE_ONLY_KINDS, RULE_KINDS, SCOPE_KINDS, SEVERITIES, type AlertRuleKind, type AlertRuleResource, type RuleParam,
} from '../../alerts/types.ts';
import { labelsOf } from '../../namespace-form.ts';
import { errorMessage, fieldErrors } from '../common.tsx';

interface Props {
  /** The rule to edit; undefined to create one. */
  rule?: AlertRuleResource;
  /** Where a new rule may go: the namespaces the caller edits. */
  namespaces: string[];
  /** The namespace a new rule starts in. */
  namespace: string;
  onClose(): void;
  onSaved(rule: AlertRuleResource, created: boolean): void;
}

const DURATION_PLACEHOLDERS: Partial<Record<RuleParam, string>> = { window: '1h', grace: '1m', lag: '2m', after: '2h', for: '1m' };

/** Mounted while open: each opening starts from the rule as it is. */
export function RuleFormModal({ rule, namespaces, namespace, onClose, onSaved }: Props) {
  const { t } = useTranslation();
  const [form] = Form.useForm<RuleFormValues>();
  const [initial] = useState(() => (rule ? ruleToForm(rule) : emptyRuleForm(namespace)));
  const ns = (Form.useWatch('namespace', form) ?? initial.namespace) as string;
  const on = (Form.useWatch('on', form) ?? initial.on) as AlertRuleKind;
  const scopeKind = (Form.useWatch('scopeKind', form) ?? initial.scopeKind) as RuleFormValues['scopeKind'];
  const namespaceOnly = NAMESPACE_ONLY_KINDS.includes(on);
  const [issues, setIssues] = useState<FieldIssue[]>([]);
  const [failure, setFailure] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const channels = useQuery({ queryKey: ['alert-channels', 'names', ns], queryFn: () => listChannels({ namespace: ns, limit: ALL }), enabled: !!ns });
  const channelNames = (channels.data?.items ?? []).map((c) => c.name);

  async function save() {
    setIssues([]);
    setFailure(null);
    try {
      await form.validateFields();
    } catch {
      return;
    }
    const values = form.getFieldsValue(true) as RuleFormValues;
    setSaving(true);
    try {
      onSaved(await saveRule(ruleBody(values), rule?.id), rule === undefined);
    } catch (error) {
      if (error instanceof ApiError && error.issues.length) {
        setIssues(error.issues);
        form.setFields(fieldErrors(error.issues, ruleFieldOf) as never);
      } else if (error instanceof ApiError && error.code === 'ALERT_RULE_NAME_TAKEN') {
        form.setFields([{ name: 'name', errors: [error.message] }]);
      }
      setFailure(errorMessage(error));
      setSaving(false);
    }
  }

  const param = ({ param: name, required }: { param: RuleParam; required: boolean }) => {
    const label = t(`alerts.params.${name}`);
    const rules = required ? [{ required: true, message: t('alerts.rules.paramRequired', { param: label }) }] : [];
    const common = { 'aria-label': label, 'data-testid': `rule-${name}` };
    const input = name === 'attempts'
      ? <Select {...common} options={(['final', 'every'] as const).map((v) => ({ value: v, label: t(`alerts.attempts.${v}`) }))} />
      : name === 'count' || name === 'minRuns'
        ? <InputNumber {...common} min={name === 'count' ? 2 : 1} max={name === 'count' ? 1000 : 100_000} precision={0} placeholder={name === 'minRuns' ? '5' : undefined} style={{ width: '100%' }} />
        : name === 'rate'
          ? <InputNumber {...common} min={0} max={1} step={0.05} placeholder="0.2" style={{ width: '100%' }} />
          : <Input {...common} placeholder={DURATION_PLACEHOLDERS[name]} />;
    return (
      <Col xs={24} sm={12} key={name}>
        <Form.Item name={name} label={label} extra={t(`alerts.paramHelp.${name}`)} rules={rules}>{input}</Form.Item>
      </Col>
    );
  };

  return (
    <Modal open width={720} title={rule ? t('alerts.rules.editTitle', { name: rule.name }) : t('alerts.rules.createTitle')} onCancel={onClose} onOk={save}
      okText={rule ? t('alerts.rules.save') : t('alerts.rules.create')} cancelText={t('common.cancel')} confirmLoading={saving}
      okButtonProps={{ 'data-testid': 'rule-save' } as never} wrapClassName="rule-form-modal">
      {failure && (
        <Alert type="error" showIcon style={{ marginBottom: 16 }} title={<span data-testid="rule-form-error">{failure}</span>}
          description={issues.length ? <ul style={{ margin: 0 }}>{issues.map((i) => <li key={i.path + i.message}><code>{i.path || '(body)'}</code> {i.message}</li>)}</ul> : undefined} />
      )}
      <Form form={form} layout="vertical" name="alert-rule" initialValues={initial} onFinish={save}
        onValuesChange={(changed: Partial<RuleFormValues>) => {
          // Channels and the task or workflow are those of a namespace: another namespace starts them again.
          if (changed.namespace !== undefined) form.setFieldsValue({ channels: [], scope: {} });
        }}>
        <Row gutter={12}>
          <Col xs={24} sm={10}>
            <Form.Item name="namespace" label={t('common.namespace')} rules={[{ required: true, message: t('alerts.namespaceRequired') }]}>
              <Select disabled={!!rule} aria-label={t('common.namespace')} data-testid="rule-namespace" options={namespaces.map((n) => ({ value: n, label: n }))} />
            </Form.Item>
          </Col>
          <Col xs={24} sm={14}>
            <Form.Item name="name" label={t('common.name')} extra={t('alerts.nameHelp')} rules={[{ required: true, whitespace: true, message: t('alerts.rules.nameRequired') }]}>
              <Input data-testid="rule-name" />
            </Form.Item>
          </Col>
        </Row>
        <Form.Item name="description" label={t('alerts.description')}><Input.TextArea rows={2} maxLength={2000} /></Form.Item>
        <Form.Item name="on" label={t('alerts.rules.on')} extra={t(`alerts.kindHelp.${on}`)}>
          <Select aria-label={t('alerts.rules.on')} data-testid="rule-on" options={RULE_KINDS.map((k) => ({ value: k, label: t(`alerts.kinds.${k}`) }))} />
        </Form.Item>
        {KIND_PARAMS[on].length > 0 && <Row gutter={12}>{KIND_PARAMS[on].map(param)}</Row>}
        <Divider titlePlacement="start">{t('alerts.rules.scope')}</Divider>
        <Form.Item name="scopeKind" extra={namespaceOnly ? t('alerts.rules.namespaceOnly') : undefined}>
          <Radio.Group disabled={namespaceOnly} data-testid="rule-scope-kind" optionType="button"
            options={SCOPE_KINDS.map((k) => ({ value: k, label: t(`alerts.rules.scopeKinds.${k}`) }))} />
        </Form.Item>
        {!namespaceOnly && scopeKind === 'taskId' && <ScopePicker kind="task" namespace={ns} />}
        {!namespaceOnly && scopeKind === 'workflowId' && <ScopePicker kind="workflow" namespace={ns} />}
        {!namespaceOnly && scopeKind === 'labels' && (
          <Form.Item name={['scope', 'labels']} label={t('alerts.rules.labels')} extra={t('alerts.rules.labelsHelp')}
            rules={[
              { required: true, type: 'array', min: 1, message: t('alerts.rules.labelsRequired') },
              { validator: async (_, entries?: string[]) => { try { labelsOf(entries); } catch { throw new Error(t('namespaces.labelsInvalid')); } } },
            ]}>
            <Select mode="tags" tokenSeparators={[',', ' ']} open={false} suffixIcon={null} placeholder="team=data" aria-label={t('alerts.rules.labels')} data-testid="rule-labels" />
          </Form.Item>
        )}
        <Divider titlePlacement="start">{t('alerts.rules.notify')}</Divider>
        <Form.Item name="channels" label={t('alerts.rules.channels')} extra={t('alerts.rules.channelsHelp', { namespace: ns })}
          rules={[{ required: true, type: 'array', min: 1, message: t('alerts.rules.channelsRequired') }]}>
          <Select mode="multiple" aria-label={t('alerts.rules.channels')} data-testid="rule-channels" loading={channels.isLoading}
            options={channelNames.map((c) => ({ value: c, label: c }))} />
        </Form.Item>
        {channels.isSuccess && channelNames.length === 0 && (
          <Alert type="info" showIcon style={{ marginBottom: 16 }} title={<>{t('alerts.rules.noChannels', { namespace: ns })} <Link to="/alerts/channels">{t('alerts.rules.toChannels')}</Link></>} />
        )}
        <Row gutter={12}>
          <Col xs={24} sm={8}>
            <Form.Item name="severity" label={t('alerts.rules.severity')}>
              <Select aria-label={t('alerts.rules.severity')} data-testid="rule-severity" options={SEVERITIES.map((s) => ({ value: s, label: t(`alerts.severity.${s}`) }))} />
            </Form.Item>
          </Col>
          <Col xs={24} sm={16}>
            <Form.Item name="repeatInterval" label={t('alerts.rules.repeatInterval')} extra={t('alerts.rules.repeatHelp')}>
              <Input placeholder="30m" aria-label={t('alerts.rules.repeatInterval')} data-testid="rule-repeatInterval" />
            </Form.Item>
          </Col>
          <Col xs={12}>
            <Form.Item name="sendResolved" label={t('alerts.rules.sendResolved')} valuePropName="checked" tooltip={t('alerts.rules.sendResolvedHelp')}>
              <Switch aria-label={t('alerts.rules.sendResolved')} />
            </Form.Item>
          </Col>
          <Col xs={12}>
            <Form.Item name="enabled" label={t('alerts.rules.enabled')} valuePropName="checked" tooltip={t('alerts.rules.enabledHelp')}>
              <Switch aria-label={t('alerts.rules.enabled')} />
            </Form.Item>
          </Col>
        </Row>
      </Form>
    </Modal>
  );
}

/** The task or workflow of a scope, picked by name among those of the namespace (searched as typed). */
function ScopePicker({ kind, namespace }: { kind: 'task' | 'workflow'; namespace: string }) {
  const { t } = useTranslation();
  const [search, setSearch] = useState('');
  const field = kind === 'task' ? 'taskId' : 'workflowId';
  const current = Form.useWatch(['scope', field]) as string | undefined;
  const path = kind === 'task' ? '/tasks' : '/workflows';
  const list = useQuery({
    queryKey: ['alerts', 'scope-pick', kind, namespace, search],
    queryFn: () => api<Page<TaskResource | WorkflowResource>>('GET', `${path}${qs({ namespace, q: search, limit: 50 })}`),
    enabled: !!namespace,
  });
  // The chosen one may not be among the names found: its name is read by id.
  const chosen = useQuery({
    queryKey: ['alerts', `${kind}-name`, current],
    queryFn: () => api<TaskResource | WorkflowResource>('GET', `${path}/${encodeURIComponent(current!)}`),
    enabled: !!current, staleTime: 60_000,
  });
  const items = list.data?.items ?? [];
  const options = items.map((item) => ({ value: item.id, label: item.name }));
  if (current && !items.some((item) => item.id === current)) options.unshift({ value: current, label: chosen.data?.name ?? current });
  const label = t(kind === 'task' ? 'alerts.rules.task' : 'alerts.rules.workflow');
  return (
    <Form.Item name={['scope', field]} label={label}
      rules={[{ required: true, message: t(kind === 'task' ? 'alerts.rules.taskRequired' : 'alerts.rules.workflowRequired') }]}>
      <Select showSearch={{ filterOption: false, onSearch: setSearch }} aria-label={label} data-testid={`rule-${kind}`} loading={list.isLoading} options={options}
        notFoundContent={t('alerts.rules.noneFound')} />
    </Form.Item>
  );
}
