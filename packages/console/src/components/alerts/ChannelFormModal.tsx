/**
 * Create or edit an alert channel: its namespace (on create), name, description, locale and type,
 * and the fields of that type's config (packages/contracts/src/alerts.ts). An edit starts from the
 * channel as read: secrets read "***" and keep their stored values when sent back so; a new value
 * replaces them. The API's field issues (`config.url`, `config.to[0]`) are shown on their fields
 * and listed above the form.
 */
import { Alert, Col, Divider, Form, Input, InputNumber, Modal, Row, Select, Switch, Typography } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError, type FieldIssue } from '../../api.ts';
import { saveChannel } from '../../alerts/api.ts';
import {
  CHANNEL_FIELDS, channelBody, channelFieldOf, channelToForm, EMAIL_SWITCHES, emptyChannelForm, type ChannelConfigField, type ChannelFormValues,
} from '../../alerts/channel-form.ts';
import { CHANNEL_TYPES, LOCALES, type AlertChannelResource, type AlertChannelType, type AlertChannelWrite } from '../../alerts/types.ts';
import { parseJsonObject } from '../../spec.ts';
import { errorMessage, fieldErrors } from '../common.tsx';

interface Props {
  /** The channel to edit; undefined to create one. */
  channel?: AlertChannelResource;
  /** Where a new channel may go: the namespaces the caller edits. */
  namespaces: string[];
  /** The namespace a new channel starts in. */
  namespace: string;
  onClose(): void;
  onSaved(write: AlertChannelWrite, created: boolean): void;
}

/** Mounted while open: each opening starts from the channel as it is. */
export function ChannelFormModal({ channel, namespaces, namespace, onClose, onSaved }: Props) {
  const { t } = useTranslation();
  const [form] = Form.useForm<ChannelFormValues>();
  const [initial] = useState(() => (channel ? channelToForm(channel) : emptyChannelForm(namespace)));
  const type = (Form.useWatch('type', form) ?? initial.type) as AlertChannelType;
  const [issues, setIssues] = useState<FieldIssue[]>([]);
  const [failure, setFailure] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);

  async function save() {
    setIssues([]);
    setFailure(null);
    try {
      await form.validateFields();
    } catch {
      return;
    }
    const values = form.getFieldsValue(true) as ChannelFormValues;
    setSaving(true);
    try {
      onSaved(await saveChannel(channelBody(values), channel?.id), channel === undefined);
    } catch (error) {
      if (error instanceof ApiError && error.issues.length) {
        setIssues(error.issues);
        form.setFields(fieldErrors(error.issues, channelFieldOf) as never);
      } else if (error instanceof ApiError && error.code === 'ALERT_CHANNEL_NAME_TAKEN') {
        form.setFields([{ name: 'name', errors: [error.message] }]);
      }
      setFailure(errorMessage(error));
      setSaving(false);
    }
  }

  const fields = CHANNEL_FIELDS[type];
  const label = (field: ChannelConfigField) => t(`alerts.channels.fields.${field}`);
  const help = (field: ChannelConfigField): string | undefined => {
    if (field === 'url') return t(`alerts.channels.urlHelp.${type}`);
    if (field === 'secret') return t(type === 'webhook' ? 'alerts.channels.help.webhookSecret' : 'alerts.channels.help.platformSecret');
    return t(`alerts.channels.help.${field}`, { defaultValue: '' }) || undefined;
  };
  const text = (field: ChannelConfigField, required = false, secret = false) => (
    <Form.Item key={field} name={['config', field]} label={label(field)} extra={help(field)}
      rules={required ? [{ required: true, whitespace: true, message: t('alerts.channels.required', { field: label(field) }) }] : []}>
      {secret ? <Input.Password visibilityToggle autoComplete="new-password" aria-label={label(field)} data-testid={`channel-${field}`} />
        : <Input aria-label={label(field)} data-testid={`channel-${field}`} />}
    </Form.Item>
  );
  const item = (field: ChannelConfigField) => {
    switch (field) {
      case 'url': return text('url', true);
      case 'host': return text('host', true);
      case 'from': return text('from', true);
      case 'user': return text('user');
      case 'secret': case 'password': return text(field, false, true);
      case 'headers':
        return (
          <Form.Item key={field} name={['config', 'headers']} label={label(field)} extra={help(field)}
            rules={[{ validator: async (_, value?: string) => { try { parseJsonObject(value, 'headers'); } catch { throw new Error(t('alerts.channels.headersInvalid')); } } }]}>
            <Input.TextArea rows={3} placeholder='{ "authorization": "Bearer …" }' style={{ fontFamily: 'monospace' }} aria-label={label(field)} data-testid="channel-headers" />
          </Form.Item>
        );
      case 'to':
        return (
          <Form.Item key={field} name={['config', 'to']} label={label(field)} extra={help(field)}
            rules={[{ required: true, type: 'array', min: 1, message: t('alerts.channels.required', { field: label(field) }) }]}>
            <Select mode="tags" tokenSeparators={[',', ' ']} open={false} suffixIcon={null} placeholder="ops@example.com" aria-label={label(field)} data-testid="channel-to" />
          </Form.Item>
        );
      case 'timeoutMs': case 'port':
        return (
          <Form.Item key={field} name={['config', field]} label={label(field)} extra={help(field)}>
            <InputNumber min={field === 'port' ? 1 : 100} max={field === 'port' ? 65_535 : 120_000} precision={0} style={{ width: '100%' }}
              placeholder={field === 'timeoutMs' ? '10000' : undefined} aria-label={label(field)} data-testid={`channel-${field}`} />
          </Form.Item>
        );
      default:
        return (
          <Col xs={12} sm={6} key={field}>
            <Form.Item name={['config', field]} label={label(field)} valuePropName="checked" tooltip={help(field)}>
              <Switch aria-label={label(field)} data-testid={`channel-${field}`} />
            </Form.Item>
          </Col>
        );
    }
  };
  const switches = fields.filter((f) => f in EMAIL_SWITCHES);

  return (
    <Modal open width={680} title={channel ? t('alerts.channels.editTitle', { name: channel.name }) : t('alerts.channels.createTitle')} onCancel={onClose} onOk={save}
      okText={channel ? t('alerts.channels.save') : t('alerts.channels.create')} cancelText={t('common.cancel')} confirmLoading={saving}
      okButtonProps={{ 'data-testid': 'channel-save' } as never} wrapClassName="channel-form-modal">
      {failure && (
        <Alert type="error" showIcon style={{ marginBottom: 16 }} title={<span data-testid="channel-form-error">{failure}</span>}
          description={issues.length ? <ul style={{ margin: 0 }}>{issues.map((i) => <li key={i.path + i.message}><code>{i.path || '(body)'}</code> {i.message}</li>)}</ul> : undefined} />
      )}
      <Form form={form} layout="vertical" name="alert-channel" initialValues={initial} onFinish={save}>
        <Row gutter={12}>
          <Col xs={24} sm={10}>
            <Form.Item name="namespace" label={t('common.namespace')} rules={[{ required: true, message: t('alerts.namespaceRequired') }]}>
              <Select disabled={!!channel} aria-label={t('common.namespace')} data-testid="channel-namespace" options={namespaces.map((ns) => ({ value: ns, label: ns }))} />
            </Form.Item>
          </Col>
          <Col xs={24} sm={14}>
            <Form.Item name="name" label={t('common.name')} extra={t('alerts.nameHelp')} rules={[{ required: true, whitespace: true, message: t('alerts.channels.nameRequired') }]}>
              <Input data-testid="channel-name" />
            </Form.Item>
          </Col>
        </Row>
        <Form.Item name="description" label={t('alerts.description')}><Input.TextArea rows={2} maxLength={2000} data-testid="channel-description" /></Form.Item>
        <Row gutter={12}>
          <Col xs={24} sm={14}>
            <Form.Item name="type" label={t('alerts.channels.type')}>
              <Select aria-label={t('alerts.channels.type')} data-testid="channel-type" options={CHANNEL_TYPES.map((v) => ({ value: v, label: t(`alerts.channelTypes.${v}`) }))} />
            </Form.Item>
          </Col>
          <Col xs={24} sm={10}>
            <Form.Item name="locale" label={t('alerts.channels.locale')} extra={t('alerts.channels.localeHelp')}>
              <Select aria-label={t('alerts.channels.locale')} options={LOCALES.map((v) => ({ value: v, label: t(`alerts.locales.${v}`) }))} />
            </Form.Item>
          </Col>
        </Row>
        <Divider titlePlacement="start">{t('alerts.channels.config', { type: t(`alerts.channelTypes.${type}`) })}</Divider>
        {channel && <Typography.Paragraph type="secondary">{t('alerts.channels.maskedHelp')}</Typography.Paragraph>}
        {fields.filter((f) => !switches.includes(f)).filter((f) => f !== 'timeoutMs' && f !== 'port').map(item)}
        {switches.length > 0 && <Row gutter={12}>{switches.map(item)}</Row>}
        <Row gutter={12}>
          {fields.includes('port') && <Col xs={24} sm={12}>{item('port')}</Col>}
          <Col xs={24} sm={12}>{item('timeoutMs')}</Col>
        </Row>
      </Form>
    </Modal>
  );
}
