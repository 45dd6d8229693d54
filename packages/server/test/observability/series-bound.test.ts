/**
 * The metrics' series stay bounded however many runs and tasks there are: 10,000 synthetic runs of
 * 100 tasks, reported straight to the Prometheus instrumentation, leave as many series as the
 * first 100 runs did (no label per run), and a per-task label stays under its cap.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { combineInstrumentation, type Instrumentation, type RunIdentity } from '../../src/observability/instrumentation.ts';
import { OTHER_TASKS, PrometheusInstrumentation } from '../../src/observability/prometheus.ts';
import { ecronSeries, parseExposition, sum } from './metrics-support.ts';

const OUTCOMES = ['succeeded', 'failed', 'timed_out', 'cancelled'] as const;

/** Reports the whole life of run `i` (of task `i % tasks`): fire, dispatch, attempts, end, API and store calls. */
function reportRun(instrumentation: Instrumentation, i: number, tasks: number): void {
  const task = i % tasks;
  const scheduledAt = 1_700_000_000_000 + i * 1000;
  const identity: RunIdentity = {
    runId: `run-${i}`, taskId: `task-${task}`, taskName: `task-${task}`, namespace: task % 2 === 0 ? 'default' : 'billing',
    trigger: 'schedule', scheduledAt, workflowRunId: null, targetType: task % 3 === 0 ? 'executor' : 'http',
  };
  const status = OUTCOMES[i % OUTCOMES.length]!;
  instrumentation.fireRecorded?.({ ...identity, status: 'dispatched', firedAt: scheduledAt + 2, lagMs: 2 });
  instrumentation.attemptDispatched?.({ ...identity, attempt: 1, startedAt: scheduledAt + 2, sentAt: scheduledAt + 5, dispatchMs: 3, executor: `node-${i}` });
  if (i % 10 === 0) {
    instrumentation.attemptEnded?.({ ...identity, attempt: 1, status: 'failed', runStartedAt: scheduledAt, endedAt: scheduledAt + 50, next: 'retry', foreign: false, error: `error ${i}` });
    instrumentation.retryScheduled?.({ ...identity, attempt: 1, nextAttemptAt: scheduledAt + 1000, at: scheduledAt + 50 });
  }
  instrumentation.attemptEnded?.({ ...identity, attempt: 1, status, runStartedAt: scheduledAt, endedAt: scheduledAt + 100, next: 'final', foreign: false, error: null });
  instrumentation.runEnded?.({ ...identity, status, attempts: 1, createdAt: scheduledAt, startedAt: scheduledAt, finishedAt: scheduledAt + 100, error: null });
  if (i % 7 === 0) {
    instrumentation.misfireSkipped?.({ taskId: identity.taskId, taskName: identity.taskName, namespace: identity.namespace, count: 2, reason: 'late', scheduledAt, at: scheduledAt + 60_000 });
  }
  instrumentation.apiRequest?.({ route: '/api/v1/runs/:id', method: 'GET', status: 200, startedAt: scheduledAt, durationMs: 1, requestId: `req-${i}` });
  instrumentation.storeOperation?.({ operation: 'finishAttempts', startedAt: scheduledAt, durationMs: 0.5, ok: true });
}

async function seriesAfter(runs: number, tasks: number, taskLabels: number): Promise<{ series: number; text: string }> {
  const prometheus = new PrometheusInstrumentation({ version: 'test', nodeId: 'node-a', taskLabels, processMetrics: false });
  const instrumentation = combineInstrumentation(prometheus);
  for (let i = 0; i < runs; i += 1) reportRun(instrumentation, i, tasks);
  const text = await prometheus.metrics();
  return { series: ecronSeries(parseExposition(text)), text };
}

describe('metric series', () => {
  it('do not grow with runs or tasks without a task label: 10,000 runs of 100 tasks leave the series of 100 runs', async () => {
    const small = await seriesAfter(100, 100, 0);
    const large = await seriesAfter(10_000, 100, 0);
    expect(large.series).toBe(small.series);
    // Every label combination is bounded by namespaces × target types × statuses: well under a few hundred.
    expect(large.series).toBeLessThan(400);
    const samples = parseExposition(large.text);
    expect(sum(samples, 'ecron_runs_total')).toBe(10_000);
    expect(sum(samples, 'ecron_fire_lag_seconds_count')).toBe(10_000);
    expect(sum(samples, 'ecron_retries_total')).toBe(1000);
    expect(sum(samples, 'ecron_misfires_total')).toBe(2 * Math.ceil(10_000 / 7));
    expect(samples.some((s) => 'task' in s.labels || 'run_id' in s.labels || 'executor' in s.labels)).toBe(false);
  });

  it('with a task label, give the first N tasks their own series and count the rest as task="other"', async () => {
    const capped = await seriesAfter(10_000, 100, 10);
    const samples = parseExposition(capped.text);
    const tasks = new Set(samples.filter((s) => s.name === 'ecron_runs_total').map((s) => s.labels.task));
    expect(tasks.size).toBe(11);
    expect(tasks.has(OTHER_TASKS)).toBe(true);
    expect(sum(samples, 'ecron_runs_total')).toBe(10_000);
    expect(sum(samples, 'ecron_runs_total', { task: OTHER_TASKS })).toBe(9000);
    // Adding tasks beyond the cap adds no series.
    const more = await seriesAfter(10_000, 1000, 10);
    expect(more.series).toBeLessThanOrEqual(capped.series);
  });

  it('keep hearing when one implementation throws', async () => {
    const prometheus = new PrometheusInstrumentation({ version: 'test', nodeId: 'node-a', processMetrics: false });
    const failing: Instrumentation = { runEnded: () => { throw new Error('broken'); } };
    const instrumentation = combineInstrumentation(failing, prometheus, undefined);
    reportRun(instrumentation, 1, 1);
    expect(sum(parseExposition(await prometheus.metrics()), 'ecron_runs_total')).toBe(1);
  });
});

describe('the Grafana dashboard (deploy/grafana/ecron-dashboard.json)', () => {
  it('queries only metrics the server exposes', async () => {
    const dashboard = readFileSync(new URL('../../../../deploy/grafana/ecron-dashboard.json', import.meta.url), 'utf8');
    const queried = new Set([...dashboard.matchAll(/\b((?:ecron|process|nodejs)_[a-z0-9_]+)/g)].map(([, name]) => name!.replace(/_(bucket|count|sum)$/, '')));
    const exposed = new Set([...(await new PrometheusInstrumentation({ version: 'test', nodeId: 'node-a' }).metrics()).matchAll(/^# TYPE (\S+)/gm)].map(([, name]) => name!));
    expect([...queried].filter((name) => !exposed.has(name))).toEqual([]);
    expect(queried.size).toBeGreaterThan(15);
  });
});
