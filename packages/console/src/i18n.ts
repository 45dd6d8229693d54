/**
 * English and Simplified Chinese. The default comes from the browser's language; a choice made
 * in the header is remembered in localStorage.
 */
import i18n from 'i18next';
import { initReactI18next } from 'react-i18next';
import { en } from './locales/en.ts';
import { zh } from './locales/zh.ts';
import { dayjs } from './format.ts';

export type Language = 'en' | 'zh';
const LANGUAGE_KEY = 'ecron.language';

export function initialLanguage(): Language {
  const saved = localStorage.getItem(LANGUAGE_KEY);
  if (saved === 'en' || saved === 'zh') return saved;
  return (navigator.language || 'en').toLowerCase().startsWith('zh') ? 'zh' : 'en';
}

export function setLanguage(language: Language): void {
  localStorage.setItem(LANGUAGE_KEY, language);
  void i18n.changeLanguage(language);
}

const language = initialLanguage();
dayjs.locale(language === 'zh' ? 'zh-cn' : 'en');
i18n.on('languageChanged', (lng) => {
  dayjs.locale(lng === 'zh' ? 'zh-cn' : 'en');
  document.documentElement.lang = lng === 'zh' ? 'zh-CN' : 'en';
});

void i18n.use(initReactI18next).init({
  resources: { en: { translation: en }, zh: { translation: zh } },
  lng: language,
  fallbackLng: 'en',
  interpolation: { escapeValue: false },
});
document.documentElement.lang = language === 'zh' ? 'zh-CN' : 'en';

export default i18n;
