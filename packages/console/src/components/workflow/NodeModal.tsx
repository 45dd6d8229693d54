/**
 * The editor's node dialog: a node's id and description, what it runs (a task of the workflow's
 * namespace, from GET /api/v1/tasks, or an inline target in the task form's target fields), when
 * it runs, and its params. Editing keeps what the dialog does not show (needs, retry, timeout).
 * Mounted while open.
 */
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Alert, Form, Input, Modal, Radio, Select } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, qs, type Page, type TaskResource } from '../../api.ts';
import { DEFAULT_FORM, parseJsonObject, targetToForm, targetToSpec, type FormValues } from '../../spec.ts';
import { specNodes } from '../../workflow/graph.ts';
import type { RunCondition, WorkflowNodeSpec, WorkflowSpec } from '../../workflow/types.ts';
import { TargetFields } from '../TargetFields.tsx';

const RUN_CONDITIONS: RunCondition[] = ['on-success', 'always', 'on-failure'];

interface NodeForm {
  id: string;
  description?: string;
  kind: 'task' | 'target';
  task?: string;
  target: FormValues['target'];
  run: RunCondition;
  params?: string;
}

function TaskSelect({ namespace, ...props }: { namespace: string; id?: string; value?: string; onChange?: (value: string) => void }) {
  const { t } = useTranslation();
  const [search, setSearch] = useState('');
  const tasks = useQuery({
    queryKey: ['tasks', 'pick', namespace, search],
    queryFn: () => api<Page<TaskResource>>('GET', `/tasks${qs({ namespace, q: search, limit: 50 })}`),
    placeholderData: keepPreviousData,
  });
  const names = (tasks.data?.items ?? []).map((task) => task.name);
  if (props.value && !names.includes(props.value)) names.unshift(props.value);
  return (
    <Select {...props} showSearch filterOption={false} onSearch={setSearch} loading={tasks.isFetching} data-testid="node-task"
      notFoundContent={tasks.isFetching ? undefined : t('workflowEditor.noTasks', { namespace })}
      options={names.map((name) => ({ value: name, label: name }))} />
  );
}

export function NodeModal({ spec, node, onSave, onClose }: { spec: WorkflowSpec; node?: WorkflowNodeSpec; onSave(node: WorkflowNodeSpec): void; onClose(): void }) {
  const { t } = useTranslation();
  const [form] = Form.useForm<NodeForm>();
  const [error, setError] = useState<string | null>(null);
  const kind = Form.useWatch('kind', form);
  const namespace = typeof spec.namespace === 'string' && spec.namespace ? spec.namespace : 'default';
  const taken = new Set(specNodes(spec).map((n) => n.id).filter((id) => id !== node?.id));
  const initial: NodeForm = {
    id: node?.id ?? '',
    description: node?.description,
    kind: node?.target && !node.task ? 'target' : 'task',
    task: node?.task,
    target: node?.target ? targetToForm(node.target) : DEFAULT_FORM.target,
    run: node?.run ?? 'on-success',
    params: node?.params && Object.keys(node.params).length ? JSON.stringify(node.params, null, 2) : '',
  };

  function finish(values: NodeForm) {
    setError(null);
    let built: WorkflowNodeSpec;
    try {
      const { task: _task, target: _target, description: _description, params: _params, run: _run, ...rest } = node ?? { id: '' };
      // A task node takes its task's retry and timeout: the API refuses them on it (NODE_TARGET_CONFLICT).
      const { retry: _retry, timeoutMs: _timeoutMs, ...withoutPolicies } = rest;
      const kept = values.kind === 'task' ? withoutPolicies : rest;
      const params = parseJsonObject(values.params, 'params');
      built = {
        ...kept,
        id: values.id.trim(),
        ...(values.description?.trim() ? { description: values.description.trim() } : {}),
        ...(values.kind === 'task' ? { task: values.task } : { target: targetToSpec(values.target) }),
        ...(values.run !== 'on-success' || node?.run ? { run: values.run } : {}),
        ...(params && (Object.keys(params).length || node?.params) ? { params } : {}),
      };
    } catch (e) {
      setError((e as Error).message);
      return;
    }
    onSave(built);
  }

  return (
    <Modal open title={node ? t('workflowEditor.editNode') : t('workflowEditor.addNode')} onCancel={onClose} onOk={() => form.submit()}
      okText={node ? t('workflowEditor.editNode') : t('workflowEditor.addNode')} cancelText={t('common.cancel')} width={640}
      okButtonProps={{ 'data-testid': 'node-ok' } as never}>
      <Form<NodeForm> form={form} layout="vertical" initialValues={initial} onFinish={finish} preserve>
        <Form.Item name="id" label={t('workflowEditor.nodeId')} rules={[
          { required: true, whitespace: true, message: t('workflowEditor.nodeIdRequired') },
          { pattern: /^\s*[A-Za-z_][A-Za-z0-9_-]*\s*$/, message: t('workflowEditor.nodeIdPattern') },
          { validator: async (_, value: string | undefined) => { if (value && taken.has(value.trim())) throw new Error(t('workflowEditor.nodeIdTaken')); } },
        ]}>
          <Input data-testid="node-id" autoFocus />
        </Form.Item>
        <Form.Item name="description" label={t('workflowEditor.description')}><Input /></Form.Item>
        <Form.Item name="kind" label={t('workflowEditor.kind')}>
          <Radio.Group optionType="button" data-testid="node-kind"
            options={[{ value: 'task', label: t('workflowEditor.kindTask') }, { value: 'target', label: t('workflowEditor.kindTarget') }]} />
        </Form.Item>
        {(kind ?? initial.kind) === 'task'
          ? (
            <Form.Item name="task" label={t('workflowEditor.task')} rules={[{ required: true, message: t('workflowEditor.taskRequired') }]}>
              <TaskSelect namespace={namespace} />
            </Form.Item>
          )
          : <TargetFields initial={{ ...DEFAULT_FORM, target: initial.target }} />}
        <Form.Item name="run" label={t('workflowEditor.runsWhen')}>
          <Select options={RUN_CONDITIONS.map((c) => ({ value: c, label: t(`runConditions.${c}`) }))} />
        </Form.Item>
        <Form.Item name="params" label={t('workflowEditor.params')} rules={[{
          validator: async (_, value: string | undefined) => {
            try {
              parseJsonObject(value, 'params');
            } catch {
              throw new Error(t('workflowEditor.paramsInvalid'));
            }
          },
        }]}>
          <Input.TextArea rows={3} style={{ fontFamily: 'monospace' }} placeholder='{"key": "value"}' />
        </Form.Item>
      </Form>
      {error && <Alert type="error" showIcon title={error} />}
    </Modal>
  );
}
