import { TranslationOutlined } from '@ant-design/icons';
import { Select } from 'antd';
import { useTranslation } from 'react-i18next';
import { setLanguage, type Language } from '../i18n.ts';

export function LanguageSwitch() {
  const { i18n, t } = useTranslation();
  return (
    <Select
      aria-label={t('header.language')}
      data-testid="language-switch"
      size="small"
      value={i18n.language === 'zh' ? 'zh' : 'en'}
      onChange={(value: Language) => setLanguage(value)}
      suffixIcon={<TranslationOutlined />}
      options={[{ value: 'en', label: 'English' }, { value: 'zh', label: '简体中文' }]}
      style={{ width: 120 }}
    />
  );
}
