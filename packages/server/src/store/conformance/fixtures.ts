/**
 * Builders and per-test store handling for the conformance suite. Everything here goes through
 * the `Store` interface only, so every implementation runs the same tests.
 */
import { afterEach, beforeEach } from 'vitest';
import { TaskSpecSchema, type TaskSpec } from '@ecron/contracts';
import { newId } from '../../core/ids.ts';
import type { RunRecord, TaskRecord, TokenRecord } from '../../core/model.ts';
import type { AuditInput, FireRecord, NewRun, Store } from '../store.ts';

export type StoreFactory = () => Promise<Store>;

/** 2026-01-01T00:00:00Z: the suite's "now". */
export const T0 = Date.UTC(2026, 0, 1);
export const MINUTE = 60_000;
/** The last millisecond of year 9999. */
export const FAR_FUTURE = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** A fresh, open store for each test, closed after it. */
export function useStore(factory: StoreFactory): { readonly store: Store } {
  let current: Store | null = null;
  beforeEach(async () => {
    current = await factory();
    await current.open();
  });
  afterEach(async () => {
    await current?.close();
    current = null;
  });
  return {
    get store(): Store {
      if (current === null) throw new Error('the store is used outside a test');
      return current;
    },
  };
}

export const audit = (action: string, details?: unknown): AuditInput => ({ actor: 'tester', action, details });

export function taskSpec(name: string, namespace = 'default', extra: Record<string, unknown> = {}): TaskSpec {
  return TaskSpecSchema.parse({
    namespace, name, schedule: { every: '1m' }, target: { type: 'http', url: 'http://127.0.0.1:9000/run' }, ...extra,
  });
}

export function taskRecord(overrides: Partial<Omit<TaskRecord, 'kind'>> & { name?: string; namespace?: string } = {}): TaskRecord {
  const name = overrides.name ?? `task-${newId().slice(-8)}`;
  const namespace = overrides.namespace ?? 'default';
  return {
    id: newId(), kind: 'task', namespace, name, revision: 1, state: 'active', spec: taskSpec(name, namespace),
    nextFireAt: T0 + MINUTE, lastFireAt: null, lastRunStatus: null, skippedFires: 0, anchorAt: T0, createdAt: T0, updatedAt: T0,
    ...overrides,
  };
}

export async function seedTask(store: Store, overrides: Partial<TaskRecord> & { name?: string; namespace?: string } = {}): Promise<TaskRecord> {
  return store.createTask({ task: taskRecord(overrides), audit: audit('task.create') });
}

export function newRun(task: TaskRecord, overrides: Partial<NewRun> = {}): NewRun {
  return {
    id: newId(), taskId: task.id, namespace: task.namespace, taskName: task.name, taskRevision: task.revision, trigger: 'schedule',
    scheduledAt: task.nextFireAt ?? T0, status: 'pending', params: { source: 'test' }, createdAt: task.nextFireAt ?? T0,
    ...overrides,
  };
}

/** The fire of `task` at its next fire time, advancing it by a minute, with one pending run. */
export function fireOf(task: TaskRecord, overrides: Partial<FireRecord> = {}): FireRecord {
  const at = task.nextFireAt ?? T0;
  return {
    taskId: task.id, expectedNextFireAt: at, nextFireAt: at + MINUTE, lastFireAt: at, skippedDelta: 0,
    runs: [newRun(task, { scheduledAt: at, createdAt: at })],
    ...overrides,
  };
}

/** Records the next fire of `task` (default: a fresh task) and returns its pending run. */
export async function seedPendingRun(store: Store, task?: TaskRecord, overrides: Partial<NewRun> = {}): Promise<RunRecord> {
  const owner = task ? await store.getTask(task.id) : await seedTask(store);
  if (!owner) throw new Error('the seed task does not exist');
  const [result] = await store.recordFires([fireOf(owner, { runs: [newRun(owner, overrides)] })]);
  const run = result?.runs[0];
  if (!run) throw new Error('the seed fire was not recorded');
  return run;
}

/** A pending run whose first attempt has been started (status dispatched, attempt 1). */
export async function seedDispatchedRun(store: Store, task?: TaskRecord): Promise<RunRecord> {
  const run = await seedPendingRun(store, task);
  const [started] = await store.startAttempts([{ runId: run.id, attempt: 1, executor: 'node-a', startedAt: T0 + 1000, deadlineAt: T0 + 31_000 }]);
  if (!started) throw new Error('the seed attempt did not start');
  return started;
}

export function tokenRecord(overrides: Partial<TokenRecord> = {}): TokenRecord {
  return {
    id: newId(), name: 'ci', role: 'editor', namespaces: ['default', 'billing'], groups: null, secretHash: newId().replaceAll('-', '').padEnd(64, '0'),
    createdAt: T0, lastUsedAt: null, revokedAt: null, expiresAt: null, ...overrides,
  };
}

/** Every item of a paginated listing, page by page. */
export async function walkPages<T>(
  list: (cursor: string | null) => Promise<{ items: T[]; nextCursor: string | null }>,
): Promise<{ items: T[]; pages: number }> {
  const items: T[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page = await list(cursor);
    items.push(...page.items);
    cursor = page.nextCursor;
    pages += 1;
    if (pages > 10_000) throw new Error('pagination does not end');
  } while (cursor !== null);
  return { items, pages };
}

/** Resolves to the EcronError code a promise rejects with (fails when it resolves). */
export async function errorCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return (error as { code?: string }).code ?? `not an EcronError: ${String(error)}`;
  }
  throw new Error('expected the call to fail');
}
