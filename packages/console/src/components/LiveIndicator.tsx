/** The header's mark of the live updates (use-events.ts): live, connecting, reconnecting or off; nothing on a page without them. */
import { Badge, Tooltip } from 'antd';
import { useTranslation } from 'react-i18next';
import type { StreamState } from '../event-stream.ts';
import { useStreamState } from '../use-events.ts';

const BADGE: Record<StreamState, 'success' | 'processing' | 'warning' | 'default'> = { live: 'success', connecting: 'processing', reconnecting: 'warning', off: 'default' };
const HINT: Partial<Record<StreamState, string>> = { live: 'live.liveHint', reconnecting: 'live.reconnectingHint', off: 'live.offHint' };

export function LiveIndicator() {
  const { t } = useTranslation();
  const state = useStreamState();
  if (state === null) return null;
  const hint = HINT[state];
  const badge = <Badge status={BADGE[state]} text={t(`live.${state}`)} data-testid="live-status" data-state={state} style={{ whiteSpace: 'nowrap' }} />;
  return hint ? <Tooltip title={t(hint)}>{badge}</Tooltip> : badge;
}
