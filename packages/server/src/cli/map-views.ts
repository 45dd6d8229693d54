/** How the CLI shows map/reduce: a run's `map` summary (`run get`) and its subtasks (`run subtasks`). */
import type { MapSummary, SubtaskResource } from '@ecron/contracts';
import { formatInstant, formatTable, formatValue } from './output.ts';

/** `map: running, 1,200 of 2,000 ended (1,190 succeeded, 10 failed); 64 running, 736 pending; reduce sum`. */
export function mapLine(map: MapSummary): string {
  const ended = map.succeeded + map.failed + map.cancelled;
  const parts = [
    `${map.state}, ${ended} of ${map.total} ended (${map.succeeded} succeeded, ${map.failed} failed${map.cancelled ? `, ${map.cancelled} cancelled` : ''})`,
    `${map.running} running, ${map.pending} pending`,
    `attempt ${map.attempt}`,
    map.reduce ? `reduce ${map.reduce}` : 'no reduce',
    `on failure: ${map.onSubtaskFailure}`,
  ];
  const width = 20;
  const done = map.total === 0 ? width : Math.round((ended / map.total) * width);
  return `map:          [${'#'.repeat(done)}${'.'.repeat(width - done)}] ${parts.join('; ')}\n`;
}

export function subtaskTable(subtasks: readonly SubtaskResource[]): string {
  return formatTable(['index', 'kind', 'state', 'tries', 'executors', 'finished', 'error'], subtasks.map((s) => [
    String(s.index), s.kind, s.state, `${s.tries}/${s.maxAttempts}`, s.executors.join(',') || '-', formatInstant(s.finishedAt), formatValue(s.error),
  ]));
}
