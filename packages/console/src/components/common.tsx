/** Small pieces shared by the pages: status tags, instants with their zone, error and permission screens. */
import { Alert, Result, Tag, theme, Tooltip } from 'antd';
import { useCallback } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError, serverNow } from '../api.ts';
import { formatAge, formatInstant, instantParts } from '../format.ts';

const STATUS_COLORS: Record<string, string> = {
  pending: 'default', no_executor: 'orange', dispatched: 'processing', running: 'processing', succeeded: 'success', failed: 'error',
  timed_out: 'error', cancelled: 'warning', skipped: 'default', lost: 'magenta', waiting: 'default',
  active: 'success', paused: 'warning', completed: 'default',
};

export interface StatusColors {
  background: string;
  border: string;
  /** The tag's text colour: the strongest of the three. */
  color: string;
  /** A mark of the status on a drawing (a node's left border, the minimap): the text colour, a light grey for grey tags. */
  accent: string;
}

/**
 * The colours a status tag of each status has (antd's tag styles, from the theme's tokens), for
 * things drawn outside a tag: the nodes of a workflow graph.
 */
export function useStatusColors(): (status: string | null | undefined) => StatusColors {
  const { token } = theme.useToken();
  return useCallback((status) => {
    const color = STATUS_COLORS[status ?? ''] ?? 'default';
    const tokens = token as unknown as Record<string, string>;
    const tag = (background: string, border: string, text: string, accent = text): StatusColors => ({ background, border, color: text, accent });
    switch (color) {
      case 'success': return tag(token.colorSuccessBg, token.colorSuccessBorder, token.colorSuccess);
      case 'processing': return tag(token.colorInfoBg, token.colorInfoBorder, token.colorInfo);
      case 'error': return tag(token.colorErrorBg, token.colorErrorBorder, token.colorError);
      case 'warning': return tag(token.colorWarningBg, token.colorWarningBorder, token.colorWarning);
      case 'default': return tag(token.colorFillTertiary, token.colorBorder, token.colorText, token.colorTextQuaternary);
      default: return tag(tokens[`${color}1`]!, tokens[`${color}3`]!, tokens[`${color}7`]!);
    }
  }, [token]);
}

export function StatusTag({ status }: { status: string | null }) {
  const { t } = useTranslation();
  if (!status) return <span>—</span>;
  return <Tag color={STATUS_COLORS[status] ?? 'default'} data-status={status}>{t(`status.${status}`)}</Tag>;
}

export const NOWRAP = { whiteSpace: 'nowrap' } as const;

/** An instant with its zone; the line may break between the time and the zone, never inside either. */
export function Instant({ value, zone, ms }: { value: string | null | undefined; zone?: string; ms?: boolean }) {
  if (!value) return <span>—</span>;
  const [dateTime, zoneLabel] = instantParts(value, zone, ms);
  return <Tooltip title={value}><span><span style={NOWRAP}>{dateTime}</span> <span style={NOWRAP}>{zoneLabel}</span></span></Tooltip>;
}

/** How long ago an instant was, by the server's clock (`4 s ago`), with the instant in a tooltip; `in 3 s` for one ahead. */
export function Age({ value }: { value: string | null | undefined }) {
  const { t } = useTranslation();
  if (!value) return <span>—</span>;
  const ms = serverNow() - Date.parse(value);
  return (
    <Tooltip title={formatInstant(value)}>
      <span style={NOWRAP}>{ms >= 0 ? t('common.ago', { age: formatAge(ms) }) : t('common.in', { age: formatAge(-ms) })}</span>
    </Tooltip>
  );
}

/**
 * The API's validation issues as antd form field errors: each issue on the form field `fieldOf`
 * maps its path to (issues of one field together); those of no field are left to the form's alert.
 */
export function fieldErrors(issues: readonly { path: string; message: string }[], fieldOf: (path: string) => string[] | null): { name: string[]; errors: string[] }[] {
  const byField = new Map<string, { name: string[]; errors: string[] }>();
  for (const issue of issues) {
    const field = fieldOf(issue.path);
    if (!field) continue;
    const entry = byField.get(field.join('.')) ?? { name: field, errors: [] };
    entry.errors.push(issue.message);
    byField.set(field.join('.'), entry);
  }
  return [...byField.values()];
}

/** A failed query: a clear screen when the token lacks the permission, else the API's message. */
export function ErrorView({ error }: { error: unknown }) {
  const { t } = useTranslation();
  if (error instanceof ApiError && error.status === 403) {
    return <Result status="403" title={t('errors.forbiddenTitle')} subTitle={<span data-testid="forbidden">{t('errors.forbidden')}<br />{error.message}</span>} />;
  }
  if (error instanceof ApiError && error.status === 404) {
    return <Result status="404" title={t('errors.notFound')} subTitle={error.message} />;
  }
  return <Alert type="error" showIcon message={t('errors.failed')} description={errorMessage(error)} />;
}

export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return `${error.code}: ${error.message}`;
  return (error as Error)?.message ?? String(error);
}

export function Json({ value }: { value: unknown }) {
  return <pre style={{ margin: 0, padding: 12, background: '#f6f8fa', borderRadius: 6, overflow: 'auto', maxHeight: 400, fontSize: 12 }}>{JSON.stringify(value, null, 2)}</pre>;
}
