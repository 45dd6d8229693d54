/**
 * "Clone" on a task's page: asks for the copy's name (`<name>-copy` to start with) and, optionally,
 * its namespace, and sends them to `POST /api/v1/tasks/{id}/clone`. The API's refusals stay in the
 * dialog: TASK_NAME_TAKEN on the name, field issues (`name`, `namespace`) on their fields.
 */
import { Alert, Form, Input, Modal, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError, cloneTask, type TaskResource } from '../api.ts';
import { errorMessage } from './common.tsx';

interface CloneValues {
  name: string;
  namespace?: string;
}

/** Mounted while open: each opening starts from `<name>-copy`. */
export function CloneTaskModal({ task, onClose, onCloned }: { task: TaskResource; onClose(): void; onCloned(copy: TaskResource): void }) {
  const { t } = useTranslation();
  const [form] = Form.useForm<CloneValues>();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function clone() {
    let values: CloneValues;
    try {
      values = await form.validateFields();
    } catch {
      return;
    }
    setError(null);
    setBusy(true);
    try {
      onCloned(await cloneTask(task.id, { name: values.name.trim(), namespace: values.namespace?.trim() || undefined }));
    } catch (e) {
      setError(errorMessage(e));
      if (e instanceof ApiError) {
        const fields = e.code === 'TASK_NAME_TAKEN'
          ? [{ name: 'name' as const, errors: [e.message] }]
          : e.issues.filter((i) => i.path === 'name' || i.path === 'namespace').map((i) => ({ name: i.path as keyof CloneValues, errors: [i.message] }));
        form.setFields(fields);
      }
      setBusy(false);
    }
  }

  return (
    <Modal open title={t('task.cloneTitle', { name: `${task.namespace}/${task.name}` })} onCancel={onClose} onOk={clone} okText={t('task.cloneOk')}
      confirmLoading={busy} cancelText={t('common.cancel')} okButtonProps={{ 'data-testid': 'clone-ok' } as never}>
      <Typography.Paragraph type="secondary">{t('task.cloneHelp')}</Typography.Paragraph>
      <Form form={form} layout="vertical" name="clone-task" initialValues={{ name: `${task.name}-copy`, namespace: '' }}>
        <Form.Item name="name" label={t('task.cloneName')} rules={[{ required: true, whitespace: true, message: t('taskForm.nameRequired') }]}>
          <Input data-testid="clone-name" />
        </Form.Item>
        <Form.Item name="namespace" label={t('task.cloneNamespace')} extra={t('task.cloneNamespaceHelp', { namespace: task.namespace })}>
          <Input placeholder={task.namespace} data-testid="clone-namespace" />
        </Form.Item>
      </Form>
      {error && <Alert type="error" showIcon message={<span data-testid="clone-error">{error}</span>} />}
    </Modal>
  );
}
