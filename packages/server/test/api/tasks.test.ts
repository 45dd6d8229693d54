import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiHarness, errorOf, T0 } from './api-harness.ts';

let h: ApiHarness;
beforeEach(async () => {
  h = await new ApiHarness().start();
});
afterEach(async () => h.close());

const iso = (ms: number) => new Date(ms).toISOString();
const MINUTE = 60_000;

describe('task lifecycle', () => {
  it('creates, gets, updates, pauses, resumes and deletes a task', async () => {
    const created = await h.call('POST', '/api/v1/tasks', {
      body: {
        name: 'nightly-report',
        schedule: { cron: '0 */5 * * * *' },
        target: { type: 'http', url: 'http://127.0.0.1:9000/run' },
        retry: { maxAttempts: 3, backoff: { type: 'exponential', initialMs: '1s', maxMs: '1m' } },
        timeoutMs: '30s',
        params: { report: 'daily' },
      },
    });
    expect(created.statusCode).toBe(201);
    const task = created.json();
    expect(task).toMatchObject({
      namespace: 'default', name: 'nightly-report', revision: 1, state: 'active',
      nextFireAt: iso(T0 + 5 * MINUTE), lastFireAt: null, lastRunStatus: null, skippedFires: 0,
      createdAt: iso(T0), updatedAt: iso(T0),
    });
    expect(task.id).toMatch(/^[0-9a-f-]{36}$/);
    // The stored spec is the validated one: durations in ms, defaults filled in.
    expect(task.spec).toMatchObject({ timeoutMs: 30_000, retry: { maxAttempts: 3, backoff: { initialMs: 1000, maxMs: 60_000 } }, overlap: 'allow' });

    const got = await h.call('GET', `/api/v1/tasks/${task.id}`);
    expect(got.statusCode).toBe(200);
    expect(got.json()).toEqual(task);

    // Same schedule, new params: the pending fire is kept.
    await h.clock.advance(2 * MINUTE);
    const sameSchedule = await h.call('PUT', `/api/v1/tasks/${task.id}`, {
      body: { name: 'nightly-report', schedule: { cron: '0 */5 * * * *' }, target: { type: 'http', url: 'http://127.0.0.1:9000/run' }, params: { report: 'weekly' } },
    });
    expect(sameSchedule.statusCode).toBe(200);
    expect(sameSchedule.json()).toMatchObject({ revision: 2, nextFireAt: iso(T0 + 5 * MINUTE), updatedAt: iso(T0 + 2 * MINUTE) });
    expect(sameSchedule.json().spec.params).toEqual({ report: 'weekly' });

    // A new schedule: the next fire is computed again from now (fixed-rate counts from the change).
    const newSchedule = await h.call('PUT', `/api/v1/tasks/${task.id}`, {
      body: { name: 'nightly-report', schedule: { every: '10m' }, target: { type: 'http', url: 'http://127.0.0.1:9000/run' } },
    });
    expect(newSchedule.json()).toMatchObject({ revision: 3, nextFireAt: iso(T0 + 12 * MINUTE) });

    const revisions = await h.call('GET', `/api/v1/tasks/${task.id}/revisions`);
    expect(revisions.statusCode).toBe(200);
    const items = revisions.json().items;
    expect(items.map((r: { revision: number }) => r.revision)).toEqual([1, 2, 3]);
    expect(items[0].spec.params).toEqual({ report: 'daily' });
    expect(items[2].spec.schedule).toEqual({ every: 600_000, mode: 'fixed-rate' });
    expect(items.every((r: { actor: string }) => r.actor === `token:${h.adminId}`)).toBe(true);
    expect(items[1].createdAt).toBe(iso(T0 + 2 * MINUTE));

    const paused = await h.call('POST', `/api/v1/tasks/${task.id}/pause`);
    expect(paused.statusCode).toBe(200);
    expect(paused.json()).toMatchObject({ state: 'paused', nextFireAt: null, revision: 3 });
    expect((await h.store.getTask(task.id))?.nextFireAt).toBeNull();

    // Resumed 25 minutes later, the every-10m schedule continues in its phase from now.
    await h.clock.advance(25 * MINUTE);
    const resumed = await h.call('POST', `/api/v1/tasks/${task.id}/resume`);
    expect(resumed.statusCode).toBe(200);
    expect(resumed.json()).toMatchObject({ state: 'active', nextFireAt: iso(T0 + 32 * MINUTE) });

    const deleted = await h.call('DELETE', `/api/v1/tasks/${task.id}`);
    expect(deleted.statusCode).toBe(204);
    expect(deleted.body).toBe('');
    expect(await h.store.getTask(task.id)).toBeNull();
    const gone = await h.call('GET', `/api/v1/tasks/${task.id}`);
    expect(gone.statusCode).toBe(404);
    expect(errorOf(gone).code).toBe('TASK_NOT_FOUND');
    expect((await h.call('DELETE', `/api/v1/tasks/${task.id}`)).statusCode).toBe(404);
  });

  it('keeps the pending fire and the fixed-rate phase when an update keeps the schedule', async () => {
    const task = await h.createTask({ name: 'steady', schedule: { every: '10m' } });
    expect(task.nextFireAt).toBe(iso(T0 + 10 * MINUTE));
    await h.clock.advance(3 * MINUTE);
    // The same schedule written differently (ms instead of "10m", explicit default mode) is the same schedule.
    const res = await h.call('PUT', `/api/v1/tasks/${task.id}`, {
      body: { ...task.spec, schedule: { every: 600_000, mode: 'fixed-rate' }, description: 'now documented' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ revision: 2, nextFireAt: iso(T0 + 10 * MINUTE) });
    expect((await h.store.getTask(task.id))?.anchorAt).toBe(T0);
  });

  it('refuses an update against a stale revision and changes nothing', async () => {
    const task = await h.createTask({ name: 'guarded', params: { v: 1 } });
    const body = { name: 'guarded', schedule: { manual: true }, target: { type: 'http', url: 'http://127.0.0.1:9000/run' }, params: { v: 2 } };
    const first = await h.call('PUT', `/api/v1/tasks/${task.id}?revision=1`, { body });
    expect(first.statusCode).toBe(200);
    expect(first.json().revision).toBe(2);

    const stale = await h.call('PUT', `/api/v1/tasks/${task.id}?revision=1`, { body: { ...body, params: { v: 3 } } });
    expect(stale.statusCode).toBe(409);
    expect(errorOf(stale).code).toBe('TASK_VERSION_CONFLICT');
    const stored = await h.store.getTask(task.id);
    expect(stored?.revision).toBe(2);
    expect(stored?.spec.params).toEqual({ v: 2 });
  });

  it('refuses a second task with the same namespace and name, and a rename onto one', async () => {
    await h.createTask({ name: 'taken' });
    const other = await h.createTask({ name: 'other' });
    const dup = await h.call('POST', '/api/v1/tasks', { body: { name: 'taken', schedule: { manual: true }, target: { type: 'http', url: 'http://x/run' } } });
    expect(dup.statusCode).toBe(409);
    expect(errorOf(dup).code).toBe('TASK_NAME_TAKEN');
    expect(await h.taskCount()).toBe(2);
    const rename = await h.call('PUT', `/api/v1/tasks/${other.id}`, { body: { name: 'taken', schedule: { manual: true }, target: { type: 'http', url: 'http://x/run' } } });
    expect(rename.statusCode).toBe(409);
    expect((await h.store.getTask(other.id))?.name).toBe('other');
    // The same name in another namespace is fine.
    expect((await h.call('POST', '/api/v1/tasks', { body: { namespace: 'ops', name: 'taken', schedule: { manual: true }, target: { type: 'http', url: 'http://x/run' } } })).statusCode).toBe(201);
  });

  it('marks a one-shot task whose instant has passed as completed, and a manual one as active without a fire', async () => {
    const past = await h.createTask({ name: 'past', schedule: { at: '2025-06-01T00:00:00Z' } });
    expect(past).toMatchObject({ state: 'completed', nextFireAt: null });
    const future = await h.createTask({ name: 'future', schedule: { at: '2026-06-01T00:00:00+02:00' } });
    expect(future).toMatchObject({ state: 'active', nextFireAt: '2026-05-31T22:00:00.000Z' });
    const manual = await h.createTask({ name: 'manual', schedule: { manual: true } });
    expect(manual).toMatchObject({ state: 'active', nextFireAt: null });
  });
});

describe('listing tasks', () => {
  async function seed() {
    for (const [namespace, name] of [
      ['default', 'alpha-report'], ['default', 'beta-report'], ['default', 'gamma'], ['default', 'delta'],
      ['ops', 'alpha-backup'], ['ops', 'cleanup'], ['ops', 'Report-Sync'],
    ] as const) {
      await h.createTask({ namespace, name, schedule: { every: '1h' } });
    }
  }

  it('filters by namespace, state, exact name and name substring', async () => {
    await seed();
    const names = async (query: string) => {
      const res = await h.call('GET', `/api/v1/tasks${query}`);
      expect(res.statusCode).toBe(200);
      return res.json().items.map((t: { namespace: string; name: string }) => `${t.namespace}/${t.name}`);
    };
    expect(await names('')).toEqual([
      'default/alpha-report', 'default/beta-report', 'default/delta', 'default/gamma', 'ops/Report-Sync', 'ops/alpha-backup', 'ops/cleanup',
    ].sort());
    expect(await names('?namespace=ops')).toHaveLength(3);
    expect((await names('?namespace=ops')).every((n: string) => n.startsWith('ops/'))).toBe(true);
    expect(await names('?q=report')).toEqual(['default/alpha-report', 'default/beta-report', 'ops/Report-Sync']);
    expect(await names('?name=gamma')).toEqual(['default/gamma']);
    expect(await names('?name=gam')).toEqual([]);
    expect(await names('?q=alpha&namespace=ops')).toEqual(['ops/alpha-backup']);

    const gamma = (await h.call('GET', '/api/v1/tasks?name=gamma')).json().items[0];
    await h.call('POST', `/api/v1/tasks/${gamma.id}/pause`);
    expect(await names('?state=paused')).toEqual(['default/gamma']);
    expect(await names('?state=active')).toHaveLength(6);
    expect(await names('?lastRunStatus=succeeded')).toEqual([]);
  });

  it('walks every page with the cursor, each task exactly once', async () => {
    await seed();
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await h.call('GET', `/api/v1/tasks?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(res.statusCode).toBe(200);
      const page = res.json();
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((t: { id: string }) => t.id));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== null && pages < 20);
    expect(pages).toBe(4);
    expect(seen).toHaveLength(7);
    expect(new Set(seen).size).toBe(7);
    const all = (await h.store.listTasks({ limit: 1000 })).items.map((t) => t.id);
    expect([...seen].sort()).toEqual([...all].sort());
  });

  it('refuses a bad cursor and an out-of-range limit', async () => {
    const badCursor = await h.call('GET', '/api/v1/tasks?cursor=not-a-cursor');
    expect(badCursor.statusCode).toBe(400);
    expect(errorOf(badCursor).code).toBe('INVALID_CURSOR');
    for (const limit of ['0', '1001', 'ten']) {
      const res = await h.call('GET', `/api/v1/tasks?limit=${limit}`);
      expect(res.statusCode).toBe(400);
      expect(errorOf(res).code).toBe('VALIDATION_FAILED');
      expect(errorOf(res).details.issues[0].path).toBe('query.limit');
    }
  });
});

describe('secrets', () => {
  const SECRET = 'target-secret-0123456789abcdef';

  it('never returns target.secret, keeps it across updates that omit it, and removes it on null', async () => {
    const create = await h.call('POST', '/api/v1/tasks', {
      body: { name: 'signed', schedule: { manual: true }, target: { type: 'http', url: 'http://127.0.0.1:9000/run', secret: SECRET } },
    });
    expect(create.statusCode).toBe(201);
    expect(create.body).not.toContain(SECRET);
    const task = create.json();
    expect(task.spec.target).toEqual({ type: 'http', url: 'http://127.0.0.1:9000/run' });
    expect((await h.store.getTask(task.id))?.spec.target).toMatchObject({ secret: SECRET });

    for (const url of [`/api/v1/tasks/${task.id}`, '/api/v1/tasks', `/api/v1/tasks/${task.id}/revisions`]) {
      const res = await h.call('GET', url);
      expect(res.statusCode).toBe(200);
      expect(res.body).not.toContain(SECRET);
      expect(res.body).not.toContain('"secret"');
    }

    // A read-modify-write of what the API returned keeps the secret.
    const update = await h.call('PUT', `/api/v1/tasks/${task.id}`, { body: { ...task.spec, params: { x: 1 } } });
    expect(update.statusCode).toBe(200);
    expect(update.body).not.toContain(SECRET);
    expect((await h.store.getTask(task.id))?.spec.target).toMatchObject({ secret: SECRET });

    const replaced = await h.call('PUT', `/api/v1/tasks/${task.id}`, { body: { ...task.spec, target: { ...task.spec.target, secret: 'another-secret-0123456789' } } });
    expect(replaced.statusCode).toBe(200);
    expect((await h.store.getTask(task.id))?.spec.target).toMatchObject({ secret: 'another-secret-0123456789' });

    const removed = await h.call('PUT', `/api/v1/tasks/${task.id}`, { body: { ...task.spec, target: { ...task.spec.target, secret: null } } });
    expect(removed.statusCode).toBe(200);
    const stored = await h.store.getTask(task.id);
    expect(stored?.spec.target).not.toHaveProperty('secret');
    expect(stored?.revision).toBe(4);
  });
});

describe('previews', () => {
  it('previews a task in its time zone, from now', async () => {
    const task = await h.createTask({ name: 'shanghai', schedule: { cron: '0 30 2 * * *', timezone: 'Asia/Shanghai' } });
    const res = await h.call('GET', `/api/v1/tasks/${task.id}/preview?count=3`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      fires: ['2026-01-01T18:30:00.000Z', '2026-01-02T18:30:00.000Z', '2026-01-03T18:30:00.000Z'],
      timezone: 'Asia/Shanghai',
    });
    const fixedRate = await h.createTask({ name: 'rate', schedule: { every: '90s' } });
    await h.clock.advance(100_000);
    const rate = await h.call('GET', `/api/v1/tasks/${fixedRate.id}/preview?count=2`);
    // Counted from the task's creation (T0), continuing from now (T0 + 100 s).
    expect(rate.json()).toEqual({ fires: [iso(T0 + 180_000), iso(T0 + 270_000)], timezone: 'UTC' });
    expect((await h.call('GET', `/api/v1/tasks/${fixedRate.id}/preview`)).json().fires).toHaveLength(10);
    const tooMany = await h.call('GET', `/api/v1/tasks/${fixedRate.id}/preview?count=101`);
    expect(tooMany.statusCode).toBe(400);
    expect(errorOf(tooMany).details.issues[0].path).toBe('query.count');
  });

  it('previews a schedule across a DST change with exact instants', async () => {
    const res = await h.call('POST', '/api/v1/schedules/preview', {
      body: { schedule: { cron: '30 2 * * *', timezone: 'America/New_York' }, count: 3, from: '2026-03-07T00:00:00Z' },
    });
    expect(res.statusCode).toBe(200);
    // 02:30 EST; then 02:30 does not exist on 2026-03-08 and fires at 03:00 EDT; then 02:30 EDT.
    expect(res.json()).toEqual({
      fires: ['2026-03-07T07:30:00.000Z', '2026-03-08T07:00:00.000Z', '2026-03-09T06:30:00.000Z'],
      timezone: 'America/New_York',
    });
    const every = await h.call('POST', '/api/v1/schedules/preview', { body: { schedule: { every: '15m' }, count: 2 } });
    expect(every.json()).toEqual({ fires: [iso(T0 + 15 * MINUTE), iso(T0 + 30 * MINUTE)], timezone: 'UTC' });
    const manual = await h.call('POST', '/api/v1/schedules/preview', { body: { schedule: { manual: true } } });
    expect(manual.json()).toEqual({ fires: [], timezone: 'UTC' });
  });

  it('reports schedule errors by path', async () => {
    const res = await h.call('POST', '/api/v1/schedules/preview', { body: { schedule: { cron: '61 * * * *', timezone: 'Nowhere/City' }, count: 0 } });
    expect(res.statusCode).toBe(400);
    const issues = errorOf(res).details.issues;
    expect(issues.map((i: { path: string }) => i.path).sort()).toEqual(['count', 'schedule.cron', 'schedule.timezone']);
    expect(issues.find((i: { path: string }) => i.path === 'schedule.cron').code).toBe('INVALID_CRON');
    expect(issues.find((i: { path: string }) => i.path === 'schedule.timezone').code).toBe('UNKNOWN_TIMEZONE');
  });

  it('previews cron fires past local year 3000, as far as a fixed rate goes', async () => {
    const preview = (schedule: object, from: string) => h.call('POST', '/api/v1/schedules/preview', { body: { schedule, count: 3, from } });
    const cron = await preview({ cron: '0 12 L 2 *' }, '2999-12-08T00:00:00Z');
    expect(cron.statusCode).toBe(200);
    expect(cron.json().fires).toEqual(['3000-02-28T12:00:00.000Z', '3001-02-28T12:00:00.000Z', '3002-02-28T12:00:00.000Z']);
    const far = await preview({ cron: '0 12 L 2 *', timezone: 'Europe/Paris' }, '9999-12-08T00:00:00Z');
    expect(far.json().fires).toEqual(['+010000-02-29T11:00:00.000Z', '+010001-02-28T11:00:00.000Z', '+010002-02-28T11:00:00.000Z']);
    const every = await preview({ every: '365d', startAt: '9999-12-08T00:00:00Z' }, '9999-12-08T00:00:00Z');
    expect(every.json().fires).toEqual(['+010000-12-07T00:00:00.000Z', '+010001-12-07T00:00:00.000Z', '+010002-12-07T00:00:00.000Z']);
  });

  it.each(['15 13 31W 4 *', '0 0 31 2 *', '0 0 30 2 *'])('refuses %s, which never matches, with INVALID_CRON (preview and create)', async (cron) => {
    const preview = await h.call('POST', '/api/v1/schedules/preview', { body: { schedule: { cron } } });
    expect(preview.statusCode).toBe(400);
    expect(errorOf(preview).code).toBe('VALIDATION_FAILED');
    expect(errorOf(preview).details.issues).toEqual([{ path: 'schedule.cron', code: 'INVALID_CRON', message: expect.stringContaining('never fires') }]);
    const create = await h.call('POST', '/api/v1/tasks', { body: { name: 'never', schedule: { cron }, target: { type: 'http', url: 'http://127.0.0.1:9000/run' } } });
    expect(create.statusCode).toBe(400);
    expect(errorOf(create).details.issues).toEqual([{ path: 'schedule.cron', code: 'INVALID_CRON', message: expect.stringContaining('never fires') }]);
  });

  it('lists the fires strictly after "from", as /openapi.json says', async () => {
    const res = await h.call('POST', '/api/v1/schedules/preview', { body: { schedule: { every: '1m', startAt: '2026-05-01T00:00:00Z' }, count: 2, from: '2026-05-01T00:01:00Z' } });
    expect(res.json().fires).toEqual(['2026-05-01T00:02:00.000Z', '2026-05-01T00:03:00.000Z']);
    const doc = (await h.call('GET', '/openapi.json', { token: null })).json();
    const body = doc.paths['/api/v1/schedules/preview'].post.requestBody.content['application/json'].schema;
    expect(body.properties.from.description).toContain('strictly after');
    expect(JSON.stringify(doc)).not.toContain('first instant considered');
  });
});

describe('clone', () => {
  it('copies a task under a new name, its secret included, and refuses a taken name, a bad name and a viewer', async () => {
    const source = await h.createTask({ name: 'nightly', description: 'the report', params: { day: 'mon' }, schedule: { cron: '0 30 2 * * *', timezone: 'Asia/Shanghai' }, target: { type: 'http', url: `${h.executorUrl}/run`, secret: 'per-task-secret-0123456789' } });
    const res = await h.call('POST', `/api/v1/tasks/${source.id}/clone`, { body: { name: 'nightly-copy', namespace: 'other' } });
    expect(res.statusCode).toBe(201);
    const copy = res.json();
    expect(copy).toMatchObject({ name: 'nightly-copy', namespace: 'other', revision: 1, state: 'active', lastRunStatus: null });
    expect(copy.id).not.toBe(source.id);
    expect(copy.spec).toMatchObject({ description: 'the report', params: { day: 'mon' }, schedule: { cron: '0 30 2 * * *', timezone: 'Asia/Shanghai' } });
    expect(copy.nextFireAt).toBe(source.nextFireAt);
    const stored = await h.store.getTask(copy.id);
    expect(stored!.spec.target).toMatchObject({ type: 'http', secret: 'per-task-secret-0123456789' });

    const taken = await h.call('POST', `/api/v1/tasks/${source.id}/clone`, { body: { name: 'nightly' } });
    expect(taken.statusCode).toBe(409);
    expect(errorOf(taken).code).toBe('TASK_NAME_TAKEN');
    const bad = await h.call('POST', `/api/v1/tasks/${source.id}/clone`, { body: { name: 'has space', extra: 1 } });
    expect(bad.statusCode).toBe(400);
    const viewer = await h.call('POST', `/api/v1/tasks/${source.id}/clone`, { body: { name: 'x' }, token: (await h.token('viewer')).secret });
    expect(viewer.statusCode).toBe(403);
    const scoped = await h.call('POST', `/api/v1/tasks/${source.id}/clone`, { body: { name: 'y', namespace: 'elsewhere' }, token: (await h.token('editor', ['default'])).secret });
    expect(scoped.statusCode).toBe(403);
    expect((await h.store.listTasks({ limit: 100 })).items.map((t) => t.name).sort()).toEqual(['nightly', 'nightly-copy']);
  });
});
