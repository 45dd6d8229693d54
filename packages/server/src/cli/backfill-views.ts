import type { BackfillResource } from '@ecron/contracts';
import { formatInstant, formatKeyValues, formatTable, formatValue } from './output.ts';

/** How backfills read in human output. */

/** `3 created, 1 skipped of 10`. */
export function backfillCounts(backfill: Pick<BackfillResource, 'created' | 'skipped' | 'total'>): string {
  return `${backfill.created} created, ${backfill.skipped} skipped of ${backfill.total}`;
}

/** One progress line: `backfill ID: 3 created, 1 skipped of 10 (running)`. */
export function backfillProgressLine(backfill: BackfillResource): string {
  return `backfill ${backfill.id}: ${backfillCounts(backfill)} (${backfill.status})`;
}

export function backfillTable(backfills: readonly BackfillResource[]): string {
  return formatTable(
    ['id', 'status', 'from', 'to', 'created', 'skipped', 'total', 'concurrency', 'started', 'finished'],
    backfills.map((b) => [
      b.id, b.status, formatInstant(b.from), formatInstant(b.to), String(b.created), String(b.skipped), String(b.total), String(b.concurrency),
      formatInstant(b.createdAt), formatInstant(b.finishedAt),
    ]),
  );
}

/** A backfill as `key: value` lines; `target` names its task or workflow when known (`task ns/name (id)`). */
export function backfillDetails(backfill: BackfillResource, target?: string): string {
  return formatKeyValues([
    ['id', backfill.id],
    ['target', target ?? backfill.taskId],
    ['namespace', backfill.namespace],
    ['status', backfill.status],
    ['range', `${formatInstant(backfill.from)} to ${formatInstant(backfill.to)}`],
    ['progress', backfillCounts(backfill)],
    ['runs', backfill.runs ? `${backfill.runs.active} active, ${backfill.runs.succeeded} succeeded, ${backfill.runs.failed} failed` : '-'],
    ['last instant', formatInstant(backfill.cursor)],
    ['concurrency', String(backfill.concurrency)],
    ['error', formatValue(backfill.error)],
    ['actor', backfill.actor],
    ['created', formatInstant(backfill.createdAt)],
    ['updated', formatInstant(backfill.updatedAt)],
    ['finished', formatInstant(backfill.finishedAt)],
  ]);
}
