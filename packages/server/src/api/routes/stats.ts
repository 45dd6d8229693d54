/**
 * `/api/v1/stats`: figures for a dashboard, over the runs scheduled in a recent window: runs by
 * status, success rate, fire lag (from a scheduled run's instant until its first attempt reached
 * its executor: `sentAt` − scheduledAt) and tasks by state.
 * Computed from the store's list verbs, reading at most {@link MAX_RUNS_READ} runs and
 * {@link MAX_TASKS_READ} tasks; `truncated` says when a limit was hit (the figures then cover the
 * newest runs of the window only).
 */
import { RUN_STATUSES, type RunStatus } from '@ecron/contracts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Clock } from '../../core/clock.ts';
import type { RunRecord } from '../../core/model.ts';
import { namespaceFilter } from '../../services/access.ts';
import type { Store } from '../../store/store.ts';
import { MAX_PAGE_LIMIT } from '../../store/pagination.ts';
import { BEARER_SECURITY, callerOf } from '../auth.ts';
import { ERROR_RESPONSES } from '../schemas.ts';

export const MAX_RUNS_READ = 20_000;
export const MAX_TASKS_READ = 10_000;
const WINDOWS = { '1h': 3_600_000, '24h': 86_400_000 } as const;
const SUCCESS: RunStatus = 'succeeded';
const FAILURES: readonly RunStatus[] = ['failed', 'timed_out', 'lost'];

const StatsQuery = z.strictObject({
  window: z.enum(['1h', '24h']).default('1h').describe('how far back runs are counted, by scheduledAt'),
  namespace: z.string().max(128).optional(),
});

const StatsSchema = z.object({
  window: z.enum(['1h', '24h']),
  from: z.string().describe('start of the window, ISO-8601 UTC'),
  to: z.string(),
  runs: z.object({
    total: z.number().int(),
    byStatus: z.record(z.string(), z.number().int()).describe('every run status, 0 when none'),
    successRate: z.number().nullable().describe('succeeded / (succeeded + failed + timed_out + lost); null without ended runs'),
  }),
  fireLagMs: z.object({
    count: z.number().int(),
    p50: z.number().nullable(),
    p95: z.number().nullable(),
    max: z.number().nullable(),
  }).describe('from the scheduled instant of a scheduled run until its first attempt reached the executor (the HTTP request written to its connection, taken by a pull-mode poll, or the gRPC call started); runs whose first attempt never got out are not counted'),
  tasks: z.object({ total: z.number().int(), byState: z.record(z.string(), z.number().int()) }),
  truncated: z.boolean().describe('true when the window held more runs or tasks than were read'),
});

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export const statsRoutes: FastifyPluginAsyncZod<{ store: Store; clock: Clock }> = async (app, { store, clock }) => {
  app.get('/stats', {
    config: { access: 'viewer' },
    schema: {
      summary: 'Dashboard figures: runs by status, success rate, fire lag, tasks by state', tags: ['stats'], security: BEARER_SECURITY,
      querystring: StatsQuery,
      response: { 200: StatsSchema, ...ERROR_RESPONSES },
    },
  }, async (request) => {
    const namespaces = namespaceFilter(callerOf(request), 'viewer');
    const { window, namespace } = request.query;
    const to = clock.now();
    const from = to - WINDOWS[window];
    let truncated = false;

    const runs: RunRecord[] = [];
    const lags: number[] = [];
    let cursor: string | null = null;
    do {
      const page = await store.listRuns({ namespaces, namespace, from, to: to + 1, cursor, limit: MAX_PAGE_LIMIT });
      runs.push(...page.items);
      const scheduled = page.items.filter((run) => run.trigger === 'schedule' && run.attempt > 0);
      if (scheduled.length > 0) {
        const scheduledAt = new Map(scheduled.map((run) => [run.id, run.scheduledAt]));
        for (const attempt of await store.listAttempts(scheduled.map((run) => run.id))) {
          if (attempt.number === 1 && attempt.sentAt !== null) lags.push(Math.max(0, attempt.sentAt - scheduledAt.get(attempt.runId)!));
        }
      }
      cursor = page.nextCursor;
      if (cursor && runs.length >= MAX_RUNS_READ) { truncated = true; break; }
    } while (cursor);

    const byStatus = Object.fromEntries(RUN_STATUSES.map((s) => [s, 0])) as Record<RunStatus, number>;
    for (const run of runs) byStatus[run.status]++;
    lags.sort((a, b) => a - b);
    const ended = byStatus[SUCCESS] + FAILURES.reduce((sum, s) => sum + byStatus[s], 0);

    const byState: Record<string, number> = { active: 0, paused: 0, completed: 0 };
    let taskCount = 0;
    cursor = null;
    do {
      const page = await store.listTasks({ namespaces, namespace, cursor, limit: MAX_PAGE_LIMIT });
      for (const task of page.items) byState[task.state] = (byState[task.state] ?? 0) + 1;
      taskCount += page.items.length;
      cursor = page.nextCursor;
      if (cursor && taskCount >= MAX_TASKS_READ) { truncated = true; break; }
    } while (cursor);

    return {
      window, from: new Date(from).toISOString(), to: new Date(to).toISOString(),
      runs: { total: runs.length, byStatus, successRate: ended === 0 ? null : byStatus[SUCCESS] / ended },
      fireLagMs: { count: lags.length, p50: percentile(lags, 50), p95: percentile(lags, 95), max: lags.at(-1) ?? null },
      tasks: { total: taskCount, byState },
      truncated,
    };
  });
};
