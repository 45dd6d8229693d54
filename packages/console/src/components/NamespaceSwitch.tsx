/** The header's namespace switch: "All namespaces" or one of those the token can see (see namespace.tsx). */
import { AppstoreOutlined } from '@ant-design/icons';
import { Select } from 'antd';
import { useTranslation } from 'react-i18next';
import { useNamespace } from '../namespace.tsx';

/** The Select's value for "all": never a namespace's name, which starts with a letter or a digit. */
const ALL = '*';

export function NamespaceSwitch({ width = 180 }: { width?: number }) {
  const { t } = useTranslation();
  const { namespace, choices, choose } = useNamespace();
  return (
    <Select
      aria-label={t('header.namespace')}
      data-testid="namespace-switch"
      size="small"
      showSearch={{ optionFilterProp: 'label' }}
      value={namespace ?? ALL}
      onChange={(value: string) => choose(value === ALL ? null : value)}
      suffixIcon={<AppstoreOutlined />}
      options={[{ value: ALL, label: t('header.allNamespaces') }, ...choices.map((name) => ({ value: name, label: name }))]}
      popupMatchSelectWidth={false}
      style={{ width }}
    />
  );
}
