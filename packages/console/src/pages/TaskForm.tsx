/**
 * Create or edit a task: every schedule kind and policy of the task spec, a cron builder with
 * seconds, a time-zone picker, the server's preview of the next 10 fires, the API's field-level
 * errors on their fields, and the spec as JSON or YAML, editable directly.
 */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import {
  Alert, App, Button, Card, Col, DatePicker, Form, Input, InputNumber, Radio, Row, Select, Space, Spin, Tabs, Typography,
} from 'antd';
import { useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useNavigate, useParams } from 'react-router-dom';
import { TaskAlertRules } from '../components/alerts/TaskAlertRules.tsx';
import { api, ApiError, type FieldIssue, type TaskResource } from '../api.ts';
import { ErrorView, fieldErrors } from '../components/common.tsx';
import { CronBuilder } from '../components/CronBuilder.tsx';
import { SchedulePreview } from '../components/SchedulePreview.tsx';
import { TargetFields } from '../components/TargetFields.tsx';
import { TimezoneSelect } from '../components/TimezoneSelect.tsx';
import { dayjs, viewerZone } from '../format.ts';
import { useNamespace } from '../namespace.tsx';
import { DEFAULT_FORM, formToSpec, scheduleOf, specToForm, specToText, textToSpec, type FormValues, type Spec, type SpecFormat } from '../spec.ts';

type View = 'form' | SpecFormat;

const instantProps = {
  getValueProps: (value: string | undefined) => ({ value: value ? dayjs(value) : undefined }),
  normalize: (value: ReturnType<typeof dayjs> | null) => (value ? value.toISOString() : undefined),
};

export default function TaskForm() {
  const { id } = useParams();
  const editing = id !== undefined;
  const task = useQuery({ queryKey: ['task', id], queryFn: () => api<TaskResource>('GET', `/tasks/${id}`), enabled: editing });
  if (task.error) return <ErrorView error={task.error} />;
  if (editing && !task.data) return <Spin />;
  return <TaskFormBody task={task.data} />;
}

function TaskFormBody({ task }: { task: TaskResource | undefined }) {
  const { t } = useTranslation();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const client = useQueryClient();
  const [form] = Form.useForm<FormValues>();
  const { namespace } = useNamespace();
  // A new task starts in the header's namespace. (Read once: switching it later leaves the form alone.)
  const [startIn] = useState(namespace);
  const initial = useMemo(() => (task ? specToForm(task.spec as Spec) : { ...DEFAULT_FORM, namespace: startIn ?? DEFAULT_FORM.namespace }), [task, startIn]);
  const [view, setView] = useState<View>('form');
  const [text, setText] = useState('');
  const [issues, setIssues] = useState<FieldIssue[]>([]);
  const [failure, setFailure] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const values = Form.useWatch([], { form, preserve: true }) as FormValues | undefined;
  const kind = values?.kind ?? initial.kind;
  const schedule = useMemo(() => scheduleOf(values?.kind ? values : initial), [values, initial]);

  useEffect(() => form.setFieldsValue(initial), [form, initial]);

  function currentSpec(): Spec {
    return view === 'form' ? formToSpec(form.getFieldsValue(true) as FormValues) : textToSpec(text, view);
  }

  function switchView(next: View) {
    try {
      const spec = currentSpec();
      if (next === 'form') form.setFieldsValue(specToForm(spec));
      else setText(specToText(spec, next));
      setFailure(null);
      setView(next);
    } catch (error) {
      setFailure(t('taskForm.cannotConvert', { message: (error as Error).message }));
    }
  }

  async function save() {
    setIssues([]);
    setFailure(null);
    let spec: Spec;
    try {
      if (view === 'form') await form.validateFields();
      spec = currentSpec();
    } catch (error) {
      if ((error as { errorFields?: unknown }).errorFields) return;
      setFailure((error as Error).message);
      return;
    }
    setSaving(true);
    try {
      const saved = task
        ? await api<TaskResource>('PUT', `/tasks/${task.id}?revision=${task.revision}`, spec)
        : await api<TaskResource>('POST', '/tasks', spec);
      await client.invalidateQueries({ queryKey: ['tasks'] });
      await client.invalidateQueries({ queryKey: ['task', saved.id] });
      message.success(t(task ? 'taskForm.updated' : 'taskForm.created', { name: saved.name }));
      navigate(`/tasks/${saved.id}`);
    } catch (error) {
      if (error instanceof ApiError && error.issues.length) {
        setIssues(error.issues);
        if (view === 'form') {
          const container = (form.getFieldValue(['target', 'type']) as string | undefined) === 'container';
          form.setFields(fieldErrors(error.issues, (path) => fieldOf(path, container)) as never);
        }
      }
      setFailure(error instanceof ApiError ? `${error.code}: ${error.message}` : (error as Error).message);
    } finally {
      setSaving(false);
    }
  }

  const formView = (
    <Form form={form} layout="vertical" initialValues={initial} onFinish={save} data-testid="task-form">
      <Row gutter={16}>
        <Col xs={24} xl={14}>
          <Card size="small" title={t('taskForm.general')} style={{ marginBottom: 16 }}>
            <Row gutter={12}>
              <Col xs={24} sm={10}><Form.Item name="namespace" label={t('common.namespace')}><Input /></Form.Item></Col>
              <Col xs={24} sm={14}><Form.Item name="name" label={t('common.name')} rules={[{ required: true, message: t('taskForm.nameRequired') }]}><Input data-testid="task-name" /></Form.Item></Col>
            </Row>
            <Form.Item name="description" label={t('taskForm.description')}><Input.TextArea rows={2} /></Form.Item>
          </Card>
          <Card size="small" title={t('taskForm.schedule')} style={{ marginBottom: 16 }}>
            <Form.Item name="kind" label={t('taskForm.kind')}>
              <Radio.Group optionType="button" buttonStyle="solid" data-testid="schedule-kind"
                options={(['cron', 'every', 'fixed-delay', 'at', 'manual'] as const).map((k) => ({ value: k, label: t(`kinds.${k}`) }))} />
            </Form.Item>
            {kind === 'cron' && (
              <>
                <Form.Item name={['schedule', 'cron']} label={t('taskForm.cron')} rules={[{ required: true, message: t('taskForm.cronRequired') }]}><CronBuilder /></Form.Item>
                <Form.Item name={['schedule', 'timezone']} label={t('taskForm.timezone')}><TimezoneSelect aria-label={t('taskForm.timezone')} /></Form.Item>
              </>
            )}
            {(kind === 'every' || kind === 'fixed-delay') && (
              <Form.Item name={['schedule', 'every']} label={t('taskForm.every')} extra={t('taskForm.durationHelp')} rules={[{ required: true, message: t('taskForm.everyRequired') }]}>
                <Input style={{ width: 200 }} placeholder="10s" />
              </Form.Item>
            )}
            {kind === 'at' && (
              <Form.Item name={['schedule', 'at']} label={t('taskForm.at')} extra={t('taskForm.inYourZone', { zone: viewerZone() })} rules={[{ required: true, message: t('taskForm.atRequired') }]} {...instantProps}>
                <DatePicker showTime />
              </Form.Item>
            )}
            {kind !== 'manual' && (
              <Row gutter={12}>
                <Col xs={24} sm={8}><Form.Item name={['schedule', 'startAt']} label={t('taskForm.startAt')} extra={viewerZone()} {...instantProps}><DatePicker showTime style={{ width: '100%' }} /></Form.Item></Col>
                <Col xs={24} sm={8}><Form.Item name={['schedule', 'endAt']} label={t('taskForm.endAt')} extra={viewerZone()} {...instantProps}><DatePicker showTime style={{ width: '100%' }} /></Form.Item></Col>
                <Col xs={24} sm={8}><Form.Item name={['schedule', 'jitterMs']} label={t('taskForm.jitter')}><Input placeholder="0" /></Form.Item></Col>
              </Row>
            )}
            <Typography.Title level={5}>{t('preview.title')}</Typography.Title>
            <SchedulePreview schedule={schedule} />
          </Card>
        </Col>
        <Col xs={24} xl={10}>
          <Card size="small" title={t('taskForm.target')} style={{ marginBottom: 16 }}>
            <TargetFields initial={initial} />
          </Card>
          <Card size="small" title={t('taskForm.policies')} style={{ marginBottom: 16 }}>
            <Row gutter={12}>
              <Col span={12}><Form.Item name={['retry', 'maxAttempts']} label={t('taskForm.maxAttempts')}><InputNumber min={1} max={100} style={{ width: '100%' }} /></Form.Item></Col>
              <Col span={12}><Form.Item name="timeoutMs" label={t('taskForm.timeout')}><Input placeholder="30s" /></Form.Item></Col>
              <Col span={12}>
                <Form.Item name={['retry', 'backoff', 'type']} label={t('taskForm.backoff')}>
                  <Select options={['fixed', 'exponential'].map((v) => ({ value: v, label: t(`backoff.${v}`) }))} />
                </Form.Item>
              </Col>
              <Col span={12}><Form.Item name={['retry', 'backoff', 'initialMs']} label={t('taskForm.initialDelay')}><Input /></Form.Item></Col>
              <Col span={8}><Form.Item name={['retry', 'backoff', 'maxMs']} label={t('taskForm.maxDelay')}><Input /></Form.Item></Col>
              <Col span={8}><Form.Item name={['retry', 'backoff', 'multiplier']} label={t('taskForm.multiplier')}><InputNumber min={1} max={10} step={0.5} style={{ width: '100%' }} /></Form.Item></Col>
              <Col span={8}><Form.Item name={['retry', 'backoff', 'jitter']} label={t('taskForm.backoffJitter')}><InputNumber min={0} max={1} step={0.1} style={{ width: '100%' }} /></Form.Item></Col>
              <Col span={12}>
                <Form.Item name="overlap" label={t('taskForm.overlap')}>
                  <Select options={['allow', 'skip', 'queue-one', 'cancel-previous'].map((v) => ({ value: v, label: t(`overlap.${v}`) }))} />
                </Form.Item>
              </Col>
              <Col span={12}><Form.Item name="maxConcurrency" label={t('taskForm.maxConcurrency')}><InputNumber min={1} style={{ width: '100%' }} /></Form.Item></Col>
              <Col span={12}>
                <Form.Item name={['misfire', 'policy']} label={t('taskForm.misfire')}>
                  <Select options={['skip', 'fire-once', 'catch-up'].map((v) => ({ value: v, label: t(`misfire.${v}`) }))} />
                </Form.Item>
              </Col>
              <Col span={6}><Form.Item name={['misfire', 'windowMs']} label={t('taskForm.misfireWindow')}><Input /></Form.Item></Col>
              <Col span={6}><Form.Item name={['misfire', 'maxCatchUp']} label={t('taskForm.maxCatchUp')}><InputNumber min={1} style={{ width: '100%' }} /></Form.Item></Col>
            </Row>
          </Card>
          <Card size="small" title={t('taskForm.params')}>
            <Form.Item name="params" extra={t('taskForm.paramsHelp')}
              rules={[{ validator: async (_, value: string) => { if (value?.trim()) JSON.parse(value); } , message: t('taskForm.paramsInvalid') }]}>
              <Input.TextArea rows={4} style={{ fontFamily: 'monospace' }} aria-label={t('taskForm.params')} />
            </Form.Item>
          </Card>
        </Col>
      </Row>
    </Form>
  );

  return (
    <Space direction="vertical" size="middle" style={{ width: '100%' }}>
      <Space style={{ width: '100%', justifyContent: 'space-between' }} wrap>
        <Typography.Title level={3} style={{ margin: 0 }}>{task ? t('taskForm.editTitle', { name: task.name, revision: task.revision }) : t('taskForm.newTitle')}</Typography.Title>
        <Space>
          <Button onClick={() => navigate(-1)}>{t('common.cancel')}</Button>
          <Button type="primary" loading={saving} onClick={save} data-testid="save-task">{task ? t('taskForm.saveRevision') : t('taskForm.create')}</Button>
        </Space>
      </Space>
      {failure && (
        <Alert type="error" showIcon message={failure} data-testid="form-error"
          description={issues.length ? <ul style={{ margin: 0 }}>{issues.map((i) => <li key={i.path + i.message}><code>{i.path || '(spec)'}</code> {i.message}</li>)}</ul> : undefined} />
      )}
      <Tabs
        activeKey={view}
        onChange={(key) => switchView(key as View)}
        items={[
          { key: 'form', label: t('taskForm.formView'), children: formView },
          ...(['json', 'yaml'] as const).map((format) => ({
            key: format,
            label: format.toUpperCase(),
            children: (
              <Space direction="vertical" style={{ width: '100%' }}>
                <Typography.Text type="secondary">{t('taskForm.textHelp')}</Typography.Text>
                <Input.TextArea aria-label={t('taskForm.specText', { format: format.toUpperCase() })} data-testid={`spec-${format}`} value={text}
                  onChange={(e) => setText(e.target.value)} autoSize={{ minRows: 16, maxRows: 40 }} style={{ fontFamily: 'monospace', fontSize: 13 }} />
              </Space>
            ),
          })),
        ]}
      />
      {/* The task's alert rules (issue 19): those scoped to it, and a quick failure alert. */}
      {task
        ? <TaskAlertRules task={task} />
        : <Typography.Text type="secondary" data-testid="task-form-alerts-later">{t('alerts.taskRules.afterCreate')}</Typography.Text>}
    </Space>
  );
}

const KNOWN_FIELDS = new Set([
  'namespace', 'name', 'description', 'schedule.cron', 'schedule.timezone', 'schedule.every', 'schedule.at', 'schedule.startAt', 'schedule.endAt',
  'schedule.jitterMs', 'target.type', 'target.url', 'target.cancelUrl', 'target.headers', 'target.secret', 'target.group', 'target.handler',
  'target.command', 'target.routing.strategy', 'target.routing.hashKey', 'target.routing.selector', 'target.routing.count',
  'target.routing.sharding.total', 'target.image', 'target.args', 'target.env', 'target.workingDir', 'target.resources.cpus', 'target.resources.memoryMb',
  'target.pull', 'target.engine', 'retry.maxAttempts', 'retry.backoff.type', 'retry.backoff.initialMs', 'retry.backoff.maxMs',
  'retry.backoff.multiplier', 'retry.backoff.jitter', 'timeoutMs', 'overlap', 'maxConcurrency', 'misfire.policy', 'misfire.windowMs', 'misfire.maxCatchUp', 'params',
]);

/** Spec paths shown by a form field of another name. */
const FIELD_ALIASES: Record<string, string[]> = {
  'target.routing.broadcast': ['target', 'routing', 'mode'],
  'target.routing.sharding': ['target', 'routing', 'sharding', 'total'],
};

/**
 * The form field an API issue path names (`target.routing.selector["zone"]` → the selector), or null
 * when the form has no such field. A container's `target.command` is its argument list, `containerCommand`;
 * an issue of one argument or one variable (`target.args[2]`, `target.env.ECRON_X`) lands on its list.
 */
function fieldOf(path: string, container = false): string[] | null {
  const parts = path.replace(/\[[^\]]*\]/g, (key) => `.${key}`).split('.');
  for (let n = parts.length; n > 0; n--) {
    const candidate = parts.slice(0, n).join('.');
    if (container && candidate === 'target.command') return ['target', 'containerCommand'];
    if (KNOWN_FIELDS.has(candidate)) return parts.slice(0, n);
    if (FIELD_ALIASES[candidate]) return FIELD_ALIASES[candidate];
  }
  return null;
}
