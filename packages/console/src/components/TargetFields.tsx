/**
 * The task form's target: an HTTP endpoint, a gRPC endpoint, an executor group (`executor`
 * with a handler, `shell` with a command) with its routing: strategy, hash key, label selector and
 * how many nodes an attempt goes to (unicast, broadcast, multicast, sharding), or a container
 * (ContainerTargetFields.tsx). The group field offers the groups of the executor registry and
 * accepts any name. Field names follow the spec's paths (see spec.ts), so the API's field issues land on them.
 */
import { AutoComplete, Col, Form, Input, InputNumber, Radio, Row, Select } from 'antd';
import { useTranslation } from 'react-i18next';
import { parseSelectorEntry, ROUTING_MODES, ROUTING_STRATEGIES, TASK_TARGET_TYPES, type FormValues, type RoutingMode } from '../spec.ts';
import { ContainerTargetFields } from './ContainerTargetFields.tsx';
import { groupsOf, useExecutors } from './useExecutors.ts';

export function TargetFields({ initial }: { initial: FormValues }) {
  const { t } = useTranslation();
  const form = Form.useFormInstance<FormValues>();
  const target = Form.useWatch('target', { form, preserve: true }) as FormValues['target'] | undefined;
  const type = target?.type ?? initial.target.type;
  return (
    <>
      <Form.Item name={['target', 'type']} label={t('taskForm.targetType')}>
        <Select options={TASK_TARGET_TYPES.map((v) => ({ value: v, label: t(`targets.${v}`) }))} />
      </Form.Item>
      {(type === 'http' || type === 'grpc') && (
        <Form.Item name={['target', 'url']} label={t('taskForm.url')} rules={[{ required: true, message: t('taskForm.urlRequired') }]}
          extra={type === 'grpc' ? t('taskForm.grpcUrlHelp') : undefined}>
          <Input placeholder={type === 'grpc' ? '10.0.0.8:50051' : 'http://127.0.0.1:9000/run'} data-testid="target-url" />
        </Form.Item>
      )}
      {type === 'http' && (
        <>
          <Form.Item name={['target', 'cancelUrl']} label={t('taskForm.cancelUrl')}><Input /></Form.Item>
          <Form.Item name={['target', 'headers']} label={t('taskForm.headers')} extra='{"x-team": "billing"}'><Input /></Form.Item>
          <Form.Item name={['target', 'secret']} label={t('taskForm.secret')} extra={t('taskForm.secretHelp')}><Input.Password autoComplete="new-password" /></Form.Item>
        </>
      )}
      {(type === 'executor' || type === 'shell') && (
        <>
          <Form.Item name={['target', 'group']} label={t('taskForm.group')} rules={[{ required: true, message: t('taskForm.groupRequired') }]}>
            <GroupInput />
          </Form.Item>
          {type === 'executor'
            ? <Form.Item name={['target', 'handler']} label={t('taskForm.handler')} rules={[{ required: true, message: t('taskForm.handlerRequired') }]}><Input data-testid="target-handler" /></Form.Item>
            : <Form.Item name={['target', 'command']} label={t('taskForm.command')} rules={[{ required: true, message: t('taskForm.commandRequired') }]}><Input.TextArea rows={2} data-testid="target-command" /></Form.Item>}
          <RoutingFields routing={target?.routing} />
        </>
      )}
      {type === 'container' && <ContainerTargetFields target={target} groupInput={<GroupInput />} routing={<RoutingFields routing={target?.routing} />} />}
    </>
  );
}

/** Free text, with the registry's groups (and how many of their nodes are live) as suggestions. */
function GroupInput(props: { id?: string; value?: string; onChange?: (value: string) => void }) {
  const { t } = useTranslation();
  const executors = useExecutors();
  const groups = groupsOf(executors.data?.items ?? []);
  const typed = (props.value ?? '').toLowerCase();
  return (
    <AutoComplete {...props} data-testid="target-group" placeholder="billing"
      options={groups.filter((g) => g.group.toLowerCase().includes(typed)).map((g) => ({
        value: g.group,
        label: <span>{g.group} <span style={{ color: '#8c8c8c' }}>· {t('executors.liveOf', { live: g.live, total: g.total })}</span></span>,
      }))} />
  );
}

function RoutingFields({ routing }: { routing: FormValues['target']['routing'] | undefined }) {
  const { t } = useTranslation();
  const mode: RoutingMode = routing?.mode ?? 'unicast';
  const consistent = routing?.strategy === 'consistent-hash' || !!routing?.hashKey;
  return (
    <>
      <Row gutter={12}>
        <Col xs={24} sm={consistent ? 12 : 24}>
          <Form.Item name={['target', 'routing', 'strategy']} label={t('taskForm.strategy')} extra={mode === 'unicast' ? undefined : t('taskForm.strategyFanOut')}>
            <Select allowClear placeholder="round-robin" options={ROUTING_STRATEGIES.map((v) => ({ value: v, label: v }))} />
          </Form.Item>
        </Col>
        {consistent && (
          <Col xs={24} sm={12}>
            <Form.Item name={['target', 'routing', 'hashKey']} label={t('taskForm.hashKey')} extra={t('taskForm.hashKeyHelp')}>
              <Input placeholder="customerId" data-testid="routing-hash-key" />
            </Form.Item>
          </Col>
        )}
      </Row>
      <Form.Item name={['target', 'routing', 'selector']} label={t('taskForm.selector')} extra={t('taskForm.selectorHelp')}
        rules={[{
          validator: async (_, entries: string[] | undefined) => {
            if ((entries ?? []).some((e) => !parseSelectorEntry(e))) throw new Error(t('taskForm.selectorInvalid'));
          },
        }]}>
        <Select mode="tags" tokenSeparators={[',', ' ']} placeholder="zone=a" aria-label={t('taskForm.selector')} data-testid="routing-selector" />
      </Form.Item>
      <Form.Item name={['target', 'routing', 'mode']} label={t('taskForm.fanOut')} extra={t(`routingModes.help.${mode}`)}>
        <Radio.Group optionType="button" buttonStyle="solid" data-testid="routing-mode" options={ROUTING_MODES.map((m) => ({ value: m, label: t(`routingModes.${m}`) }))} />
      </Form.Item>
      {mode === 'multicast' && (
        <Form.Item name={['target', 'routing', 'count']} label={t('taskForm.count')} rules={[{ required: true, message: t('taskForm.countRequired') }]}>
          <InputNumber min={1} style={{ width: 160 }} />
        </Form.Item>
      )}
      {mode === 'sharding' && (
        <Form.Item name={['target', 'routing', 'sharding', 'total']} label={t('taskForm.shards')} rules={[{ required: true, message: t('taskForm.shardsRequired') }]}>
          <InputNumber min={1} max={1024} style={{ width: 160 }} />
        </Form.Item>
      )}
    </>
  );
}
