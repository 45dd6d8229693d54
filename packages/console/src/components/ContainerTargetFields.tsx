/**
 * The task form's fields of a container target: the image, the command and the arguments (one
 * argument per box, so an argument keeps its spaces and newlines), the environment (name and value
 * rows), working directory, CPUs, memory, pull policy, engine, and an optional executor group with
 * the routing of shell targets (TargetFields passes its group input and routing fields in). Field names follow the spec's paths (see spec.ts: the command is
 * `containerCommand`), so the API's field issues land on them.
 */
import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { Button, Col, Form, Input, InputNumber, Row, Select, type FormRule } from 'antd';
import type { ReactElement, ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { PULL_POLICIES, type EnvEntry, type FormValues } from '../spec.ts';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const row = { display: 'flex', gap: 8, alignItems: 'flex-start' } as const;

interface Props {
  target: FormValues['target'] | undefined;
  /** The input of the executor group, as executor and shell targets have it. */
  groupInput: ReactElement;
  /** The routing fields, shown once a group is set. */
  routing: ReactNode;
}

export function ContainerTargetFields({ target, groupInput, routing }: Props) {
  const { t } = useTranslation();
  return (
    <>
      <Form.Item name={['target', 'image']} label={t('taskForm.image')} extra={t('taskForm.imageHelp')}
        rules={[{ required: true, whitespace: true, message: t('taskForm.imageRequired') }]}>
        <Input placeholder="busybox:1.37" data-testid="target-image" />
      </Form.Item>
      <ArgumentList field="containerCommand" label={t('taskForm.containerCommand')} help={t('taskForm.containerCommandHelp')} />
      <ArgumentList field="args" label={t('taskForm.args')} help={t('taskForm.argsHelp')} />
      <EnvList />
      <Form.Item name={['target', 'workingDir']} label={t('taskForm.workingDir')} extra={t('taskForm.workingDirHelp')}>
        <Input placeholder="/work" data-testid="target-working-dir" />
      </Form.Item>
      <Row gutter={12}>
        <Col xs={24} sm={12}>
          <Form.Item name={['target', 'resources', 'cpus']} label={t('taskForm.cpus')} extra={t('taskForm.noLimit')}>
            <InputNumber min={0.01} max={1024} step={0.5} style={{ width: '100%' }} aria-label={t('taskForm.cpus')} data-testid="target-cpus" />
          </Form.Item>
        </Col>
        <Col xs={24} sm={12}>
          <Form.Item name={['target', 'resources', 'memoryMb']} label={t('taskForm.memoryMb')} extra={t('taskForm.noLimit')}>
            <InputNumber min={6} max={16_777_216} precision={0} style={{ width: '100%' }} aria-label={t('taskForm.memoryMb')} data-testid="target-memory" />
          </Form.Item>
        </Col>
        <Col xs={24} sm={12}>
          <Form.Item name={['target', 'pull']} label={t('taskForm.pull')}>
            <Select aria-label={t('taskForm.pull')} options={PULL_POLICIES.map((p) => ({ value: p, label: t(`pullPolicies.${p}`) }))} />
          </Form.Item>
        </Col>
        <Col xs={24} sm={12}>
          <Form.Item name={['target', 'engine']} label={t('taskForm.engine')} extra={t('taskForm.engineHelp')}>
            <Input placeholder="default" data-testid="target-engine" />
          </Form.Item>
        </Col>
      </Row>
      <Form.Item name={['target', 'group']} label={t('taskForm.containerGroup')} extra={t('taskForm.containerGroupHelp')}>
        {groupInput}
      </Form.Item>
      {!!target?.group?.trim() && routing}
    </>
  );
}

/** A list of arguments, one per box (a box may hold spaces and newlines: it is one argument). */
function ArgumentList({ field, label, help }: { field: 'containerCommand' | 'args'; label: string; help: string }) {
  const { t } = useTranslation();
  return (
    <Form.List name={['target', field]}>
      {(fields, { add, remove }, { errors }) => (
        <Form.Item label={label} extra={help}>
          {fields.map((item, index) => (
            <div key={item.key} style={{ ...row, marginBottom: 8 }}>
              <Form.Item name={item.name} noStyle>
                <Input.TextArea autoSize={{ minRows: 1, maxRows: 6 }} aria-label={t('taskForm.argument', { list: label, n: index + 1 })} />
              </Form.Item>
              <Button icon={<DeleteOutlined />} onClick={() => remove(item.name)} aria-label={t('taskForm.removeArgument', { n: index + 1 })} />
            </div>
          ))}
          <Button type="dashed" icon={<PlusOutlined />} onClick={() => add('')} data-testid={`target-${field}-add`}>{t('taskForm.addArgument')}</Button>
          <Form.ErrorList errors={errors} />
        </Form.Item>
      )}
    </Form.List>
  );
}

/** The environment as name and value rows; a name is checked here as the API would (pattern, not one ecron sets, once). */
function EnvList() {
  const { t } = useTranslation();
  const nameRules = (index: number): FormRule[] => [({ getFieldValue }) => ({
    validator: async (_, value: string | undefined) => {
      const rows = (getFieldValue(['target', 'env']) ?? []) as EnvEntry[];
      const name = value?.trim() ?? '';
      if (!name) {
        if (rows[index]?.value) throw new Error(t('taskForm.envNameRequired'));
        return;
      }
      if (!ENV_NAME.test(name)) throw new Error(t('taskForm.envNameInvalid'));
      if (name.toUpperCase().startsWith('ECRON_') || name === 'TRACEPARENT') throw new Error(t('taskForm.envNameReserved'));
      if (rows.filter((r) => r?.name?.trim() === name).length > 1) throw new Error(t('taskForm.envNameTwice'));
    },
  })];
  return (
    <Form.List name={['target', 'env']}>
      {(fields, { add, remove }, { errors }) => (
        <Form.Item label={t('taskForm.env')} extra={t('taskForm.envHelp')}>
          {fields.map((item, index) => (
            <div key={item.key} style={row}>
              <Form.Item name={[item.name, 'name']} rules={nameRules(index)} style={{ flex: '0 0 38%', marginBottom: 8 }}>
                <Input placeholder="LOG_LEVEL" aria-label={t('taskForm.envName', { n: index + 1 })} />
              </Form.Item>
              <Form.Item name={[item.name, 'value']} style={{ flex: 1, marginBottom: 8 }}>
                <Input.TextArea autoSize={{ minRows: 1, maxRows: 6 }} placeholder="debug" aria-label={t('taskForm.envValue', { n: index + 1 })} />
              </Form.Item>
              <Button icon={<DeleteOutlined />} onClick={() => remove(item.name)} aria-label={t('taskForm.removeEnv', { n: index + 1 })} />
            </div>
          ))}
          <Button type="dashed" icon={<PlusOutlined />} onClick={() => add({ name: '', value: '' })} data-testid="target-env-add">{t('taskForm.addEnv')}</Button>
          <Form.ErrorList errors={errors} />
        </Form.Item>
      )}
    </Form.List>
  );
}
