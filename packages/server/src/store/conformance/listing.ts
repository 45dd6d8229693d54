import { describe, expect, it } from 'vitest';
import type { RunRecord, TaskRecord } from '../../core/model.ts';
import type { Store } from '../store.ts';
import { audit, errorCode, fireOf, MINUTE, newRun, seedTask, T0, walkPages } from './fixtures.ts';

const pad = (n: number): string => String(n).padStart(3, '0');

/** Names whose order is the same under any collation: lowercase, same length. */
async function seedTasks(store: Store, namespaces: string[], perNamespace: number): Promise<TaskRecord[]> {
  const tasks: TaskRecord[] = [];
  for (let i = perNamespace - 1; i >= 0; i--) {
    for (const namespace of [...namespaces].reverse()) tasks.push(await seedTask(store, { namespace, name: `job-${pad(i)}` }));
  }
  return tasks.sort((a, b) => (a.namespace === b.namespace ? (a.name < b.name ? -1 : 1) : a.namespace < b.namespace ? -1 : 1));
}

/** `count` scheduled runs of `task`, one per minute, inserted oldest first. */
async function seedRuns(store: Store, task: TaskRecord, count: number): Promise<RunRecord[]> {
  const runs: RunRecord[] = [];
  let current = task;
  for (let i = 0; i < count; i++) {
    const at = T0 + (i + 1) * MINUTE;
    const [result] = await store.recordFires([fireOf(current, { expectedNextFireAt: current.nextFireAt!, runs: [newRun(current, { scheduledAt: at, createdAt: at })] })]);
    runs.push(...result!.runs);
    current = (await store.getTask(task.id))!;
  }
  return runs;
}

export function describeListing(ctx: { readonly store: Store }): void {
  describe('listing and pagination', () => {
    it('lists tasks by (namespace, name), walking every page exactly once', async () => {
      const tasks = await seedTasks(ctx.store, ['alpha', 'beta', 'gamma'], 9);
      for (const limit of [1, 7, 9, 27, 1000]) {
        const { items, pages } = await walkPages((cursor) => ctx.store.listTasks({ limit, cursor }));
        expect(items.map((task) => task.id)).toEqual(tasks.map((task) => task.id));
        expect(pages).toBe(Math.max(1, Math.ceil(tasks.length / limit)));
      }
      expect(await ctx.store.listTasks({ limit: 5, cursor: null })).toMatchObject({ items: tasks.slice(0, 5) });
    });

    it('returns an empty page with no cursor when nothing matches', async () => {
      expect(await ctx.store.listTasks({ limit: 10 })).toEqual({ items: [], nextCursor: null });
      expect(await ctx.store.listRuns({ limit: 10 })).toEqual({ items: [], nextCursor: null });
      expect(await ctx.store.listAudit({ limit: 10 })).toEqual({ items: [], nextCursor: null });
    });

    it('filters tasks by namespace scope, namespace, state, name and last run status', async () => {
      const tasks = await seedTasks(ctx.store, ['alpha', 'beta', 'gamma'], 3);
      const names = (page: { items: TaskRecord[] }) => page.items.map((task) => `${task.namespace}/${task.name}`);
      expect(names(await ctx.store.listTasks({ limit: 100, namespaces: ['alpha', 'gamma'] })))
        .toEqual(['alpha/job-000', 'alpha/job-001', 'alpha/job-002', 'gamma/job-000', 'gamma/job-001', 'gamma/job-002']);
      expect((await ctx.store.listTasks({ limit: 100, namespaces: ['*'] })).items).toHaveLength(9);
      expect((await ctx.store.listTasks({ limit: 100, namespaces: null })).items).toHaveLength(9);
      expect((await ctx.store.listTasks({ limit: 100, namespaces: [] })).items).toEqual([]);
      expect(names(await ctx.store.listTasks({ limit: 100, namespace: 'beta' }))).toEqual(['beta/job-000', 'beta/job-001', 'beta/job-002']);
      expect((await ctx.store.listTasks({ limit: 100, namespaces: ['alpha'], namespace: 'beta' })).items).toEqual([]);

      const paused = tasks[4]!;
      await ctx.store.setTaskState({ id: paused.id, state: 'paused', nextFireAt: null, at: T0, audit: audit('task.pause') });
      expect(names(await ctx.store.listTasks({ limit: 100, state: 'paused' }))).toEqual([`${paused.namespace}/${paused.name}`]);
      expect((await ctx.store.listTasks({ limit: 100, state: 'active' })).items).toHaveLength(8);

      await seedTask(ctx.store, { namespace: 'alpha', name: 'Nightly-REPORT' });
      expect(names(await ctx.store.listTasks({ limit: 100, nameContains: 'report' }))).toEqual(['alpha/Nightly-REPORT']);
      expect(names(await ctx.store.listTasks({ limit: 100, nameContains: 'GHTLY-r' }))).toEqual(['alpha/Nightly-REPORT']);
      expect((await ctx.store.listTasks({ limit: 100, nameContains: 'job-00' })).items).toHaveLength(9);

      const failing = tasks[2]!;
      const [fire] = await ctx.store.recordFires([fireOf(failing)]);
      const [started] = await ctx.store.startAttempts([{ runId: fire!.runs[0]!.id, attempt: 1, executor: null, startedAt: T0, deadlineAt: null }]);
      await ctx.store.finishAttempts([{ runId: started!.id, attempt: 1, attemptStatus: 'failed', at: T0 + 1, outcome: { kind: 'final', status: 'failed' } }]);
      expect((await ctx.store.listTasks({ limit: 100, lastRunStatus: 'failed' })).items.map((task) => task.id)).toEqual([failing.id]);
      expect((await ctx.store.listTasks({ limit: 100, lastRunStatus: 'succeeded' })).items).toEqual([]);
    });

    it('filters tasks by exact name, alone or with the other filters, and pages through them', async () => {
      await seedTasks(ctx.store, ['alpha', 'beta', 'gamma'], 3);
      await seedTask(ctx.store, { namespace: 'beta', name: 'job-001-extra' });
      const names = (page: { items: TaskRecord[] }) => page.items.map((task) => `${task.namespace}/${task.name}`);
      expect(names(await ctx.store.listTasks({ limit: 100, name: 'job-001' }))).toEqual(['alpha/job-001', 'beta/job-001', 'gamma/job-001']);
      // Exact: no substring, no prefix, no other case.
      expect((await ctx.store.listTasks({ limit: 100, name: 'job-00' })).items).toEqual([]);
      expect((await ctx.store.listTasks({ limit: 100, name: 'JOB-001' })).items).toEqual([]);
      expect((await ctx.store.listTasks({ limit: 100, name: 'ob-001' })).items).toEqual([]);
      expect(names(await ctx.store.listTasks({ limit: 100, name: 'job-001', namespace: 'beta' }))).toEqual(['beta/job-001']);
      expect(names(await ctx.store.listTasks({ limit: 100, name: 'job-001', namespaces: ['alpha', 'gamma'] }))).toEqual(['alpha/job-001', 'gamma/job-001']);
      expect((await ctx.store.listTasks({ limit: 100, name: 'job-001', namespaces: ['alpha'], namespace: 'beta' })).items).toEqual([]);
      expect(names(await ctx.store.listTasks({ limit: 100, name: 'job-001', nameContains: '01' }))).toHaveLength(3);
      expect((await ctx.store.listTasks({ limit: 100, name: 'job-001', nameContains: 'extra' })).items).toEqual([]);
      expect((await ctx.store.listTasks({ limit: 100, name: 'job-001', state: 'paused' })).items).toEqual([]);
      const { items, pages } = await walkPages((cursor) => ctx.store.listTasks({ limit: 1, cursor, name: 'job-002' }));
      expect(items.map((task) => task.namespace)).toEqual(['alpha', 'beta', 'gamma']);
      expect(pages).toBe(3);
    });

    it('matches a name substring literally: LIKE wildcards and escapes are plain characters', async () => {
      for (const name of ['data_load', 'dataXload', 'data-load', 'v1.2', 'v112']) await seedTask(ctx.store, { namespace: 'alpha', name });
      const names = (page: { items: TaskRecord[] }) => page.items.map((task) => task.name);
      const contains = async (nameContains: string) => names(await ctx.store.listTasks({ limit: 100, nameContains }));
      // With three letters or digits in a row and without (stores may serve the two differently).
      expect(await contains('ata_l')).toEqual(['data_load']);
      expect(await contains('a_l')).toEqual(['data_load']);
      expect(await contains('_')).toEqual(['data_load']);
      expect(await contains('DATA_LOAD')).toEqual(['data_load']);
      expect(await contains('1.2')).toEqual(['v1.2']);
      expect(await contains('.')).toEqual(['v1.2']);
      for (const needle of ['%', 'a%l', '\\', '!', 'a!_l', '!%', '[a]', '*']) expect(await contains(needle)).toEqual([]);
      expect(await contains('load')).toEqual(['data-load', 'dataXload', 'data_load']);
    });

    it('pages through filtered tasks', async () => {
      await seedTasks(ctx.store, ['alpha', 'beta'], 10);
      const { items, pages } = await walkPages((cursor) => ctx.store.listTasks({ limit: 3, cursor, namespace: 'beta', nameContains: 'job' }));
      expect(items.map((task) => task.name)).toEqual(Array.from({ length: 10 }, (_, i) => `job-${pad(i)}`));
      expect(pages).toBe(4);
    });

    it('lists runs newest first by id, walking every page exactly once', async () => {
      const task = await seedTask(ctx.store);
      const runs = await seedRuns(ctx.store, task, 23);
      const newestFirst = [...runs].reverse().map((run) => run.id);
      for (const limit of [1, 5, 23, 50]) {
        const { items } = await walkPages((cursor) => ctx.store.listRuns({ limit, cursor, taskId: task.id }));
        expect(items.map((run) => run.id)).toEqual(newestFirst);
      }
      const { items } = await walkPages((cursor) => ctx.store.listRuns({ limit: 4, cursor }));
      expect(items).toEqual([...runs].reverse());
    });

    it('filters runs by task, namespace scope, status and scheduled time', async () => {
      const a = await seedTask(ctx.store, { namespace: 'alpha' });
      const b = await seedTask(ctx.store, { namespace: 'beta' });
      const runsA = await seedRuns(ctx.store, a, 5);
      const runsB = await seedRuns(ctx.store, b, 3);
      const ids = (page: { items: RunRecord[] }) => page.items.map((run) => run.id).sort();
      const sorted = (runs: RunRecord[]) => runs.map((run) => run.id).sort();
      expect(ids(await ctx.store.listRuns({ limit: 100, taskId: a.id }))).toEqual(sorted(runsA));
      expect(ids(await ctx.store.listRuns({ limit: 100, namespace: 'beta' }))).toEqual(sorted(runsB));
      expect(ids(await ctx.store.listRuns({ limit: 100, namespaces: ['beta'] }))).toEqual(sorted(runsB));
      expect(ids(await ctx.store.listRuns({ limit: 100, namespaces: ['*'] }))).toEqual(sorted([...runsA, ...runsB]));
      expect((await ctx.store.listRuns({ limit: 100, namespaces: [] })).items).toEqual([]);
      expect((await ctx.store.listRuns({ limit: 100, namespaces: ['beta'], taskId: a.id })).items).toEqual([]);
      // from is inclusive, to exclusive.
      expect(ids(await ctx.store.listRuns({ limit: 100, taskId: a.id, from: T0 + 2 * MINUTE, to: T0 + 4 * MINUTE }))).toEqual(sorted(runsA.slice(1, 3)));
      await ctx.store.finishRun({ runId: runsA[0]!.id, status: 'cancelled', at: T0 });
      expect(ids(await ctx.store.listRuns({ limit: 100, status: 'cancelled' }))).toEqual([runsA[0]!.id]);
      expect(ids(await ctx.store.listRuns({ limit: 100, status: 'pending', namespace: 'alpha' }))).toEqual(sorted(runsA.slice(1)));
      const { items } = await walkPages((cursor) => ctx.store.listRuns({ limit: 2, cursor, status: 'pending' }));
      expect(items).toHaveLength(7);
    });

    it('lists audit entries newest first, filtered and paged', async () => {
      for (let i = 0; i < 12; i++) {
        await ctx.store.appendAudit({ at: T0 + i, actor: 'tester', action: i % 3 === 0 ? 'token.create' : 'task.update', resourceType: 'task', resourceId: `r${i % 2}`, details: { i } });
      }
      const { items } = await walkPages((cursor) => ctx.store.listAudit({ limit: 5, cursor }));
      expect(items.map((entry) => (entry.details as { i: number }).i)).toEqual([11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
      const tokens = await walkPages((cursor) => ctx.store.listAudit({ limit: 1, cursor, action: 'token.create' }));
      expect(tokens.items.map((entry) => entry.at)).toEqual([T0 + 9, T0 + 6, T0 + 3, T0]);
      const r1 = await ctx.store.listAudit({ limit: 100, resourceId: 'r1', action: 'task.update' });
      expect(r1.items.map((entry) => entry.at)).toEqual([T0 + 11, T0 + 7, T0 + 5, T0 + 1]);
    });

    it('refuses malformed cursors with INVALID_CURSOR', async () => {
      await seedTasks(ctx.store, ['alpha'], 3);
      const taskCursor = (await ctx.store.listTasks({ limit: 1 })).nextCursor!;
      const json = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      for (const cursor of ['not a cursor!', '%%%', json({ hello: 'world' }), json([1, 2]), 'bnVsbA', `${taskCursor}x`.replace(/.$/, '*')]) {
        expect(await errorCode(ctx.store.listTasks({ limit: 10, cursor }))).toBe('INVALID_CURSOR');
        expect(await errorCode(ctx.store.listRuns({ limit: 10, cursor }))).toBe('INVALID_CURSOR');
        expect(await errorCode(ctx.store.listAudit({ limit: 10, cursor }))).toBe('INVALID_CURSOR');
      }
      // A cursor of one listing is not valid for another.
      expect(await errorCode(ctx.store.listRuns({ limit: 10, cursor: taskCursor }))).toBe('INVALID_CURSOR');
      expect(await errorCode(ctx.store.listAudit({ limit: 10, cursor: taskCursor }))).toBe('INVALID_CURSOR');
    });

    it('refuses a page limit outside 1..1000 with VALIDATION_FAILED', async () => {
      for (const limit of [0, -1, 1001, 1.5, Number.NaN]) {
        expect(await errorCode(ctx.store.listTasks({ limit }))).toBe('VALIDATION_FAILED');
        expect(await errorCode(ctx.store.listRuns({ limit }))).toBe('VALIDATION_FAILED');
        expect(await errorCode(ctx.store.listAudit({ limit }))).toBe('VALIDATION_FAILED');
      }
    });
  });
}
