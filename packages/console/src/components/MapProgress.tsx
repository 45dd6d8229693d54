/**
 * A run's map/reduce progress (`map` of the run, docs/map-reduce.md): a bar of the subtasks that
 * ended (green the succeeded share) and their counts by state.
 */
import type { MapSummary } from '@ecron/contracts';
import { Card, Descriptions, Progress, Space, Tag, Tooltip, Typography } from 'antd';
import { useTranslation } from 'react-i18next';

const STATE_COLORS: Record<MapSummary['state'], string> = {
  mapping: 'processing', running: 'processing', reducing: 'processing', succeeded: 'success', failed: 'error', cancelled: 'default',
};

export function MapProgress({ map }: { map: MapSummary }) {
  const { t } = useTranslation();
  const ended = map.succeeded + map.failed + map.cancelled;
  const percent = map.total === 0 ? 100 : Math.floor((ended / map.total) * 100);
  const success = map.total === 0 ? 100 : Math.floor((map.succeeded / map.total) * 100);
  const counts: [string, number, string][] = [
    ['pending', map.pending, 'default'], ['running', map.running, 'processing'], ['succeeded', map.succeeded, 'success'],
    ['failed', map.failed, 'error'], ['cancelled', map.cancelled, 'default'],
  ];
  return (
    <Card size="small" data-testid="map-progress"
      title={<Tooltip title={t('mapReduce.hint')}><span>{t('mapReduce.title')}</span></Tooltip>}
      extra={<Tag color={STATE_COLORS[map.state]} data-testid="map-state">{t(`mapReduce.states.${map.state}`)}</Tag>}>
      <Space direction="vertical" style={{ width: '100%' }}>
        <Progress percent={percent} success={{ percent: success }} status={map.state === 'failed' ? 'exception' : undefined} />
        <Typography.Text type="secondary">{t('mapReduce.ended', { ended, total: map.total })}</Typography.Text>
        <Space wrap data-testid="map-counts">
          {counts.map(([key, value, color]) => <Tag key={key} color={color}>{t(`mapReduce.${key}`)}: {value}</Tag>)}
        </Space>
        <Descriptions size="small" column={3}>
          <Descriptions.Item label={t('mapReduce.reduce')}>{map.reduce ?? t('mapReduce.noReduce')}</Descriptions.Item>
          <Descriptions.Item label={t('mapReduce.onFailure')}>{t(`mapReduce.policies.${map.onSubtaskFailure}`)}</Descriptions.Item>
          <Descriptions.Item label={t('mapReduce.attempt')}>{map.attempt}</Descriptions.Item>
        </Descriptions>
      </Space>
    </Card>
  );
}
