/** The next 10 fires of a schedule, computed by the server (POST /api/v1/schedules/preview), in the task's zone and the viewer's. */
import { useQuery } from '@tanstack/react-query';
import { Alert, Table, Typography } from 'antd';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api, ApiError, type Preview } from '../api.ts';
import { formatInstant, viewerZone } from '../format.ts';

export function SchedulePreview({ schedule }: { schedule: Record<string, unknown> }) {
  const { t } = useTranslation();
  const key = JSON.stringify(schedule);
  const [debounced, setDebounced] = useState(key);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(key), 300);
    return () => clearTimeout(timer);
  }, [key]);
  const preview = useQuery({
    queryKey: ['preview', debounced],
    queryFn: () => api<Preview>('POST', '/schedules/preview', { schedule: JSON.parse(debounced), count: 10 }),
    retry: false,
  });
  const local = viewerZone();
  if ('manual' in schedule) return <Typography.Text type="secondary">{t('preview.manual')}</Typography.Text>;
  if (preview.error) {
    const issues = preview.error instanceof ApiError ? preview.error.issues.map((i) => `${i.path}: ${i.message}`).join('; ') : '';
    return <Alert type="warning" showIcon message={t('preview.invalid')} description={issues || (preview.error as Error).message} data-testid="preview-error" />;
  }
  const zone = preview.data?.timezone ?? 'UTC';
  const rows = (preview.data?.fires ?? []).map((fire, index) => ({ key: fire, index: index + 1, fire }));
  return (
    <Table
      size="small"
      data-testid="preview-table"
      loading={preview.isFetching && !preview.data}
      pagination={false}
      dataSource={rows}
      locale={{ emptyText: t('preview.none') }}
      scroll={{ x: 520 }}
      columns={[
        { title: '#', dataIndex: 'index', width: 40 },
        { title: t('preview.taskZone', { zone }), dataIndex: 'fire', render: (fire: string) => <span className="preview-fire">{formatInstant(fire, zone, true)}</span> },
        ...(local !== zone ? [{ title: t('preview.yourZone', { zone: local }), dataIndex: 'fire', key: 'local', render: (fire: string) => formatInstant(fire, local, true) }] : []),
      ]}
    />
  );
}
