import { Button, Space, Typography } from 'antd';
import { useTranslation } from 'react-i18next';

export function Pager({ page, hasNext, onPrevious, onNext }: { page: number; hasNext: boolean; onPrevious(): void; onNext(): void }) {
  const { t } = useTranslation();
  return (
    <Space style={{ marginTop: 12 }}>
      <Button size="small" disabled={page <= 1} onClick={onPrevious}>{t('common.previous')}</Button>
      <Typography.Text>{t('common.page', { page })}</Typography.Text>
      <Button size="small" disabled={!hasNext} onClick={onNext}>{t('common.next')}</Button>
    </Space>
  );
}
