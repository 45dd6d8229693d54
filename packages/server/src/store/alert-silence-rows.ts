/**
 * What the stores share of alert silences (`store/alert-silences.ts`): the row → record mapping
 * (JSON columns as text or parsed), the column list and values of an insert, the cursor's key and
 * the refusal of an end before the start.
 */
import type { AlertSilenceScope } from '@ecron/contracts';
import { EcronError } from '../core/errors.ts';
import type { AlertSilenceRecord } from './alert-silences.ts';

type Row = Record<string, unknown>;

const json = <T>(value: unknown): T => (typeof value === 'string' ? JSON.parse(value) : value) as T;

/** The kind of the listing's cursors. */
export const SILENCE_CURSOR = 'alert-silence';

export function toAlertSilence(row: Row): AlertSilenceRecord {
  return {
    id: row.id as string,
    namespace: row.namespace as string,
    scope: json<AlertSilenceScope>(row.scope),
    ruleIds: row.rule_ids === null || row.rule_ids === undefined ? null : json<string[]>(row.rule_ids),
    startsAt: Number(row.starts_at),
    endsAt: Number(row.ends_at),
    comment: row.comment as string,
    createdBy: row.created_by as string,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** The column values of a silence's row, in the order of {@link SILENCE_COLUMNS}. */
export const SILENCE_COLUMNS = 'id, namespace, scope, rule_ids, starts_at, ends_at, comment, created_by, created_at, updated_at';
export function silenceValues(s: AlertSilenceRecord): (string | number | null)[] {
  return [
    s.id, s.namespace, JSON.stringify(s.scope), s.ruleIds === null ? null : JSON.stringify(s.ruleIds), s.startsAt, s.endsAt, s.comment, s.createdBy,
    s.createdAt, s.updatedAt,
  ];
}

/** The listing's key: (startsAt, id), newest first. */
export const silenceCursorKey = (s: AlertSilenceRecord): string[] => [String(s.startsAt), s.id];

/** VALIDATION_FAILED (issue `endsAt`) unless `endsAt` is at or after the silence's start. */
export function assertEndsAfterStart(silence: Pick<AlertSilenceRecord, 'id' | 'startsAt'>, endsAt: number): void {
  if (endsAt >= silence.startsAt) return;
  const message = `must not be before the silence starts (${new Date(silence.startsAt).toISOString()})`;
  throw new EcronError('VALIDATION_FAILED', `endsAt: ${message}`, { issues: [{ path: 'endsAt', code: 'OUT_OF_RANGE', message }] });
}
