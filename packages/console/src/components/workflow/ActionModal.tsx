/**
 * A confirmation dialog for an action on a workflow or its run (trigger, cancel, rerun from
 * failed, rerun, mark succeeded or skip a node), optionally with a JSON text (params, an output).
 * The text is checked here before anything is sent; the API's refusal stays in the dialog, as
 * in RerunModal. Mounted while open.
 */
import { Alert, Input, Modal, Space, Typography } from 'antd';
import { useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { errorMessage } from '../common.tsx';

export interface JsonField {
  label: string;
  initial: string;
  /** The value to send, or why the text cannot be sent. */
  read(text: string): { value: unknown } | { problem: string };
}

export function ActionModal<T>({ title, help, okText, cancelText, danger, json, extra, onSubmit, onDone, onClose }: {
  title: string;
  help: string;
  okText: string;
  /** The button that closes the dialog: "Cancel" unless that would read like the action. */
  cancelText?: string;
  danger?: boolean;
  json?: JsonField;
  extra?: ReactNode;
  /** Sends the action; what it answers goes to `onDone`. */
  onSubmit(value: unknown): Promise<T>;
  onDone(result: T): void;
  onClose(): void;
}) {
  const { t } = useTranslation();
  const [text, setText] = useState(json?.initial ?? '');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit() {
    let value: unknown;
    if (json) {
      const read = json.read(text);
      if ('problem' in read) {
        setError(read.problem);
        return;
      }
      value = read.value;
    }
    setError(null);
    setBusy(true);
    try {
      const result = await onSubmit(value);
      onDone(result);
    } catch (e) {
      setError(errorMessage(e));
      setBusy(false);
    }
  }

  return (
    <Modal open title={title} onCancel={onClose} onOk={submit} okText={okText} confirmLoading={busy} cancelText={cancelText ?? t('common.cancel')} okButtonProps={{ danger, 'data-testid': 'action-ok' } as never}>
      <Space orientation="vertical" style={{ width: '100%' }}>
        <Typography.Text type="secondary">{help}</Typography.Text>
        {extra}
        {json && (
          <>
            <Typography.Text>{json.label}</Typography.Text>
            <Input.TextArea aria-label={json.label} data-testid="action-json" value={text} onChange={(e) => setText(e.target.value)}
              autoSize={{ minRows: 4, maxRows: 16 }} style={{ fontFamily: 'monospace' }} />
          </>
        )}
        {error && <Alert type="error" showIcon title={<span data-testid="action-error">{error}</span>} />}
      </Space>
    </Modal>
  );
}
