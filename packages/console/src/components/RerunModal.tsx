/**
 * "Run again" for a finished run: its params as editable JSON, prefilled. They are checked here
 * (valid JSON, an object) before anything is sent; the API's refusals (RUN_NOT_FINISHED,
 * TASK_NOT_FOUND) are shown in the dialog. Params left as they were send `{}`, so the API repeats
 * the run's own.
 */
import { Alert, Input, Modal, Space, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { rerunRun, type RunResource } from '../api.ts';
import { errorMessage } from './common.tsx';

/** The params as typed, or why they cannot be sent. */
export function readParams(text: string): { params: Record<string, unknown> } | { problem: 'json'; detail: string } | { problem: 'object' } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { problem: 'json', detail: (error as Error).message };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { problem: 'object' };
  return { params: value as Record<string, unknown> };
}

/** Whether two JSON values are the same, whatever the order of their keys. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  return keysA.length === keysB.length && keysA.every((key) => Object.hasOwn(b, key) && sameJson((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
}

/** Mounted while open: each opening starts from the run's params. */
export function RerunModal({ run, onClose, onStarted }: { run: RunResource; onClose(): void; onStarted(run: RunResource): void }) {
  const { t } = useTranslation();
  const [text, setText] = useState(() => JSON.stringify(run.params ?? {}, null, 2));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function rerun() {
    const read = readParams(text);
    if ('problem' in read) {
      setError(read.problem === 'json' ? t('run.paramsNotJson', { message: read.detail }) : t('run.paramsNotObject'));
      return;
    }
    setError(null);
    setBusy(true);
    try {
      const started = await rerunRun(run.id, sameJson(read.params, run.params ?? {}) ? undefined : read.params);
      onStarted(started);
    } catch (e) {
      setError(errorMessage(e));
      setBusy(false);
    }
  }

  return (
    <Modal open title={t('run.rerunTitle', { task: `${run.namespace}/${run.taskName}` })} onCancel={onClose} onOk={rerun} okText={t('run.rerunOk')}
      confirmLoading={busy} cancelText={t('common.cancel')} okButtonProps={{ 'data-testid': 'rerun-ok' } as never}>
      <Space direction="vertical" style={{ width: '100%' }}>
        <Typography.Text type="secondary">{t('run.rerunHelp')}</Typography.Text>
        <Typography.Text>{t('run.rerunParams')}</Typography.Text>
        <Input.TextArea aria-label={t('run.rerunParams')} data-testid="rerun-params" value={text} onChange={(e) => setText(e.target.value)}
          autoSize={{ minRows: 5, maxRows: 16 }} style={{ fontFamily: 'monospace' }} />
        {error && <Alert type="error" showIcon message={<span data-testid="rerun-error">{error}</span>} />}
      </Space>
    </Modal>
  );
}
