/**
 * Times `recordFires` on a store: each round records one fire of each of N tasks, in calls of
 * `batch` fires, each fire advancing one task by compare-and-set and inserting one run (every
 * other run dispatched with its first attempt).
 *
 *   node packages/server/scripts/bench-record-fires.ts [fires=20000] [store=<temp file>] [batch=fires] [streams=1]
 *
 * `store` is a SQLite path (or `:memory:`), or a `postgres://…` or `mysql://…` URL: the SQL stores
 * work in a scratch schema or database, dropped at the end. With several `streams`, the tasks are
 * split into that many disjoint sets recorded concurrently on as many connections, as scheduler
 * nodes owning different buckets would.
 *
 * Prints results; it asserts nothing (DESIGN.md: benchmarks are scripts, not timed tests).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { TaskSpec } from '@ecron/contracts';
import { newId } from '../src/core/ids.ts';
import { createSqliteStore } from '../src/store/sqlite/sqlite-store.ts';
import type { FireRecord, Store } from '../src/store/store.ts';
import { scratchSqlStore } from './scratch-sql-store.ts';

const count = Number(process.argv[2] ?? 20_000);
const dir = mkdtempSync(join(tmpdir(), 'ecron-bench-'));
const path = process.argv[3] ?? join(dir, 'ecron.db');
const batch = Number(process.argv[4] ?? count);
const streams = Number(process.argv[5] ?? 1);
const store: Store = /^(postgres|postgresql|mysql):\/\//.test(path) ? await scratchSqlStore(path, { poolSize: streams + 1 }) : createSqliteStore({ path });
await store.open();

const spec = (name: string): TaskSpec => ({
  namespace: 'bench', name, schedule: { every: 60_000, mode: 'fixed-rate' }, target: { type: 'http', url: 'http://127.0.0.1:9000/run' },
  retry: { maxAttempts: 1, backoff: { type: 'exponential', initialMs: 1000, maxMs: 60_000, multiplier: 2, jitter: 0 } },
  overlap: 'allow', misfire: { policy: 'fire-once', maxCatchUp: 100 }, params: {},
});
const t0 = Date.UTC(2026, 0, 1);
const taskIds: string[] = [];
for (let i = 0; i < count; i++) {
  const id = newId();
  const name = `task-${String(i).padStart(6, '0')}`;
  await store.createTask({
    task: { id, namespace: 'bench', name, revision: 1, state: 'active', spec: spec(name), nextFireAt: t0, lastFireAt: null, lastRunStatus: null, skippedFires: 0, anchorAt: t0, createdAt: t0, updatedAt: t0 },
    audit: { actor: 'bench', action: 'task.create' },
  });
  taskIds.push(id);
}

function fires(round: number): FireRecord[] {
  const at = t0 + round * 60_000;
  return taskIds.map((taskId, i) => ({
    taskId, expectedNextFireAt: at, nextFireAt: at + 60_000, lastFireAt: at, skippedDelta: 0,
    runs: [{
      id: newId(), taskId, namespace: 'bench', taskName: `task-${i}`, taskRevision: 1, trigger: 'schedule', scheduledAt: at,
      params: { n: i }, createdAt: at,
      ...(i % 2 === 0
        ? { status: 'dispatched' as const, attempt: { executor: 'node-1', startedAt: at, deadlineAt: at + 30_000 } }
        : { status: 'pending' as const }),
    }],
  }));
}

const rounds = 7;
const wall: number[] = [];
for (let round = 0; round < rounds; round++) {
  const list = fires(round);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const share = Math.ceil(list.length / streams);
  const results = (await Promise.all(Array.from({ length: streams }, async (_, stream) => {
    const mine = list.slice(stream * share, (stream + 1) * share);
    const recorded = [];
    for (let from = 0; from < mine.length; from += batch) recorded.push(...await store.recordFires(mine.slice(from, from + batch)));
    return recorded;
  }))).flat();
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  wall.push(ms);
  const recorded = results.filter((result) => result.recorded).length;
  const runs = results.reduce((n, result) => n + result.runs.length, 0);
  console.log(`round ${round}: ${ms.toFixed(1)} ms wall, ${((cpu.user + cpu.system) / 1000).toFixed(1)} ms CPU (${recorded} recorded, ${runs} runs)`);
}
wall.sort((a, b) => a - b);
const median = wall[rounds >> 1]!;
console.log(`recordFires of ${count} fires in batches of ${batch} × ${streams} stream(s) on ${path}: min ${wall[0]!.toFixed(1)} ms, median ${median.toFixed(1)} ms`
  + ` (${Math.round(count / (median / 1000))} fires/s at the median)`);
await store.close();
rmSync(dir, { recursive: true, force: true });
