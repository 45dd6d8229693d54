/** A namespace's usage of one quota: the count alone when there is no limit, else "12 / 50" over a bar that turns red at the limit. */
import { Progress, Tooltip } from 'antd';
import { useTranslation } from 'react-i18next';
import { NOWRAP } from './common.tsx';

export function QuotaUsage({ used, limit, testId }: { used: number | undefined; limit: number | null | undefined; testId?: string }) {
  const { t } = useTranslation();
  if (used === undefined) return <span data-testid={testId}>—</span>;
  if (limit === null || limit === undefined) return <span data-testid={testId}>{used}</span>;
  const percent = limit === 0 ? 100 : Math.min(100, Math.round((used / limit) * 1000) / 10);
  return (
    <Tooltip title={t('namespaces.used', { used, limit, percent })}>
      <div style={{ minWidth: 80 }}>
        <span style={NOWRAP} data-testid={testId}>{used} / {limit}</span>
        <Progress percent={percent} size="small" showInfo={false} status={used >= limit ? 'exception' : 'normal'} style={{ margin: 0, lineHeight: 1 }} />
      </div>
    </Tooltip>
  );
}
