/**
 * Create or edit a namespace (admins): its name (on create), description, labels, every quota
 * (the container image allowlist as a tag input), and the outbound allow and deny lists as tag
 * inputs. An edit sends only what changed (see namespace-form.ts). The API's field issues
 * (`quotas.minIntervalMs`, `outbound.deny[0]`) are shown on their fields and listed above the
 * form, as the task form does.
 */
import { Alert, Col, Divider, Form, Input, InputNumber, Modal, Row, Select } from 'antd';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError, putNamespace, type FieldIssue, type NamespaceListItem, type NamespaceResource } from '../api.ts';
import {
  COUNT_QUOTAS, EMPTY_NAMESPACE_FORM, groupLimitsOf, labelsOf, namespaceBody, namespaceFieldOf, namespaceToForm, TARGET_TYPES, type NamespaceFormValues,
} from '../namespace-form.ts';
import { errorMessage, fieldErrors } from './common.tsx';

interface Props {
  /** The namespace to edit; undefined to create one. */
  namespace?: NamespaceListItem;
  /** Namespaces with stored settings: a new one may not take their names (a PUT would change them). */
  stored: string[];
  onClose(): void;
  onSaved(saved: NamespaceResource, created: boolean): void;
}

/** Mounted while open: each opening starts from the namespace as it is. */
export function NamespaceFormModal({ namespace, stored, onClose, onSaved }: Props) {
  const { t } = useTranslation();
  const [form] = Form.useForm<NamespaceFormValues>();
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
    const values = form.getFieldsValue(true) as NamespaceFormValues;
    const name = namespace?.name ?? values.name.trim();
    setSaving(true);
    try {
      onSaved(await putNamespace(name, namespaceBody(values, namespace)), namespace === undefined);
    } catch (error) {
      if (error instanceof ApiError && error.issues.length) {
        setIssues(error.issues);
        form.setFields(fieldErrors(error.issues, namespaceFieldOf) as never);
      }
      setFailure(errorMessage(error));
      setSaving(false);
    }
  }

  const count = (key: (typeof COUNT_QUOTAS)[number]) => (
    <Col xs={24} sm={12} key={key}>
      <Form.Item name={['quotas', key]} label={t(`namespaces.${key}`)} extra={t('namespaces.countHelp')}>
        <InputNumber min={0} max={1_000_000_000} precision={0} placeholder={t('namespaces.noLimit')} aria-label={t(`namespaces.${key}`)}
          style={{ width: '100%' }} data-testid={`quota-${key}`} />
      </Form.Item>
    </Col>
  );
  const rules = (list: 'allow' | 'deny') => (
    <Form.Item name={['outbound', list]} label={t(`namespaces.${list}`)} extra={t(`namespaces.${list}Help`)}>
      <Select mode="tags" tokenSeparators={[',', ' ']} open={false} suffixIcon={null} placeholder={list === 'allow' ? '10.20.0.0/16' : '10.20.99.0/24'}
        aria-label={t(`namespaces.${list}`)} data-testid={`outbound-${list}`} />
    </Form.Item>
  );

  return (
    <Modal open width={720} title={namespace ? t('namespaces.editTitle', { name: namespace.name }) : t('namespaces.createTitle')} onCancel={onClose} onOk={save}
      okText={namespace ? t('namespaces.save') : t('namespaces.create')} cancelText={t('common.cancel')} confirmLoading={saving}
      okButtonProps={{ 'data-testid': 'namespace-save' } as never} wrapClassName="namespace-form-modal">
      {failure && (
        <Alert type="error" showIcon style={{ marginBottom: 16 }} title={<span data-testid="namespace-form-error">{failure}</span>}
          description={issues.length ? <ul style={{ margin: 0 }}>{issues.map((i) => <li key={i.path + i.message}><code>{i.path || '(body)'}</code> {i.message}</li>)}</ul> : undefined} />
      )}
      <Form form={form} layout="vertical" name="namespace" initialValues={namespace ? namespaceToForm(namespace) : EMPTY_NAMESPACE_FORM} onFinish={save}>
        <Form.Item name="name" label={t('common.name')} extra={namespace ? undefined : t('namespaces.nameHelp')}
          rules={[
            { required: true, whitespace: true, message: t('namespaces.nameRequired') },
            { validator: async (_, value?: string) => { if (!namespace && value && stored.includes(value.trim())) throw new Error(t('namespaces.nameTaken', { name: value.trim() })); } },
          ]}>
          <Input disabled={!!namespace} data-testid="namespace-name" />
        </Form.Item>
        <Form.Item name="description" label={t('namespaces.description')}><Input.TextArea rows={2} maxLength={2000} data-testid="namespace-description" /></Form.Item>
        <Form.Item name="labels" label={t('namespaces.labels')} extra={t('namespaces.labelsHelp')}
          rules={[{ validator: async (_, entries?: string[]) => { try { labelsOf(entries); } catch { throw new Error(t('namespaces.labelsInvalid')); } } }]}>
          <Select mode="tags" tokenSeparators={[',', ' ']} open={false} suffixIcon={null} placeholder="team=data" aria-label={t('namespaces.labels')} data-testid="namespace-labels" />
        </Form.Item>
        <Divider titlePlacement="start">{t('namespaces.quotas')}</Divider>
        <Row gutter={12}>
          {COUNT_QUOTAS.map(count)}
          <Col xs={24} sm={12}>
            <Form.Item name={['quotas', 'minIntervalMs']} label={t('namespaces.minIntervalMs')} extra={t('namespaces.minIntervalHelp')}>
              <Input placeholder="1s" aria-label={t('namespaces.minIntervalMs')} data-testid="quota-minIntervalMs" />
            </Form.Item>
          </Col>
          <Col xs={24} sm={12}>
            <Form.Item name={['quotas', 'allowedTargetTypes']} label={t('namespaces.allowedTargetTypes')} extra={t('namespaces.allowedTargetTypesHelp')}>
              <Select mode="multiple" allowClear placeholder={t('namespaces.allTypes')} aria-label={t('namespaces.allowedTargetTypes')}
                options={TARGET_TYPES.map((type) => ({ value: type, label: t(`targets.${type}`) }))} />
            </Form.Item>
          </Col>
          <Col xs={24}>
            <Form.Item name={['quotas', 'groupMaxConcurrentRuns']} label={t('namespaces.groupMaxConcurrentRuns')} extra={t('namespaces.groupMaxConcurrentRunsHelp')}
              rules={[{ validator: async (_, entries?: string[]) => { try { groupLimitsOf(entries); } catch { throw new Error(t('namespaces.groupLimitsInvalid')); } } }]}>
              <Select mode="tags" tokenSeparators={[',', ' ']} open={false} suffixIcon={null} placeholder="billing=20"
                aria-label={t('namespaces.groupMaxConcurrentRuns')} data-testid="quota-groupMaxConcurrentRuns" />
            </Form.Item>
          </Col>
          <Col xs={24}>
            <Form.Item name={['quotas', 'containerImages']} label={t('namespaces.containerImages')} extra={t('namespaces.containerImagesHelp')}>
              <Select mode="tags" tokenSeparators={[',', ' ']} open={false} suffixIcon={null} placeholder="registry.example/team/**"
                aria-label={t('namespaces.containerImages')} data-testid="quota-containerImages" />
            </Form.Item>
          </Col>
        </Row>
        <Divider titlePlacement="start">{t('namespaces.outbound')}</Divider>
        {rules('allow')}
        {rules('deny')}
        <Alert type="info" showIcon title={t('namespaces.outboundHelp')} />
      </Form>
    </Modal>
  );
}
