import { afterEach, describe, expect, it } from 'vitest';
import { newId } from '../../src/core/ids.ts';
import type { BackfillRecord } from '../../src/core/model.ts';
import { createBackfillService, type BackfillService } from '../../src/services/backfill-service.ts';
import { ADMIN } from '../support/scheduler-harness.ts';
import { WorkflowHarness } from '../support/workflow-harness.ts';

const MINUTE = 60_000;

describe('backfill', () => {
  let h: WorkflowHarness;
  let backfills: BackfillService;
  afterEach(async () => h?.close());

  async function start(): Promise<void> {
    h = await new WorkflowHarness().start();
    backfills = createBackfillService({ store: h.store, control: h.scheduler, clock: h.clock });
  }

  /** Moves the manual clock until the backfill ends (its runner steps on that clock; runs end on real time). */
  async function untilEnded(id: string): Promise<BackfillRecord> {
    for (let i = 0; i < 2000; i++) {
      const backfill = (await h.store.getBackfill(id))!;
      if (backfill.status !== 'running') return backfill;
      await h.clock.advance(250);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    throw new Error('the backfill did not end');
  }

  it('creates the fires the schedule would have had in the range, each once, skipping an instant that had one, at most `concurrency` at once', async () => {
    await start();
    const t0 = h.clock.now();
    let inFlight = 0;
    let most = 0;
    h.executor.behaviours.set('/bf', async () => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 20));
      inFlight -= 1;
      return { status: 200, body: {} };
    });
    const task = await h.createTask({ name: 'hourly', schedule: { cron: '0 * * * *', timezone: 'Asia/Shanghai' } }, '/bf');
    await h.tasks.pause(ADMIN, task.id);
    await h.clock.advance(10 * 3_600_000);
    // 10:00 UTC+8 already has its fire.
    await h.store.createRun({
      run: { id: newId(), taskId: task.id, namespace: 'default', taskName: task.name, taskRevision: 1, trigger: 'schedule', scheduledAt: t0 + 2 * 3_600_000, params: {}, createdAt: t0, status: 'skipped' },
    });
    const paused = (await h.store.getTask(task.id))!;
    const created = await backfills.start(ADMIN, paused, { from: new Date(t0).toISOString(), to: new Date(t0 + 9 * 3_600_000).toISOString(), concurrency: 2 });
    expect(created).toMatchObject({ total: 10, status: 'running', owner: h.scheduler.nodeId });
    const ended = await untilEnded(created.id);
    expect(ended).toMatchObject({ status: 'succeeded', created: 9, skipped: 1, cursorAt: t0 + 9 * 3_600_000 });
    const sent = h.executor.received.filter((r) => r.event === 'run' && r.body.taskId === task.id).map((r) => Date.parse(r.body.scheduledAt));
    expect(sent.sort((a, b) => a - b)).toEqual([0, 1, 3, 4, 5, 6, 7, 8, 9].map((i) => t0 + i * 3_600_000));
    expect(most).toBeLessThanOrEqual(2);
    // A second backfill of the same range fires nothing again.
    const again = await backfills.start(ADMIN, paused, { from: new Date(t0).toISOString(), to: new Date(t0 + 9 * 3_600_000).toISOString(), concurrency: 5 });
    expect(await untilEnded(again.id)).toMatchObject({ status: 'succeeded', created: 0, skipped: 10 });
    const audit = await h.store.listAudit({ limit: 10, action: 'task.backfill' });
    expect(audit.items).toHaveLength(2);
  });

  it('backfills a workflow: one workflow run per instant', async () => {
    await start();
    const t0 = h.clock.now();
    const wf = await h.createWorkflow('nightly', [{ id: 'a' }, { id: 'b', needs: ['a'] }], { schedule: { cron: '30 * * * *', timezone: 'UTC' } });
    await h.workflows.pause(ADMIN, wf.id);
    await h.clock.advance(3 * 3_600_000);
    const backfill = await backfills.start(ADMIN, (await h.store.getWorkflow(wf.id))!, { from: new Date(t0).toISOString(), to: new Date(h.clock.now()).toISOString() });
    expect(backfill.total).toBe(3);
    expect(await untilEnded(backfill.id)).toMatchObject({ status: 'succeeded', created: 3 });
    const runs = (await h.workflows.listRuns(ADMIN, { workflowId: wf.id, limit: 10 })).items;
    expect(runs.map((r) => [r.status, new Date(r.scheduledAt).toISOString().slice(0, 16)]).sort()).toEqual([
      ['succeeded', '2026-03-01T00:30'], ['succeeded', '2026-03-01T01:30'], ['succeeded', '2026-03-01T02:30'],
    ]);
  });

  it('stops creating fires when cancelled', async () => {
    await start();
    const t0 = h.clock.now();
    h.executor.behaviours.set('/hang', (_req, signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve({ status: 500 }))));
    const task = await h.createTask({ name: 'every-minute', schedule: { cron: '* * * * *' } }, '/hang');
    await h.tasks.pause(ADMIN, task.id);
    await h.clock.advance(10 * MINUTE);
    const backfill = await backfills.start(ADMIN, (await h.store.getTask(task.id))!, { from: new Date(t0).toISOString(), to: new Date(t0 + 9 * MINUTE).toISOString() });
    const first = h.executor.next((r) => r.body.taskId === task.id);
    await h.clock.advance(0);
    await first;
    const cancelled = await backfills.cancel(ADMIN, backfill.id);
    expect(cancelled.status).toBe('cancelled');
    for (let i = 0; i < 8; i++) await h.clock.advance(250);
    expect((await h.store.getBackfill(backfill.id))!.created).toBe(1);
    expect(h.executor.received.filter((r) => r.event === 'run' && r.body.taskId === task.id)).toHaveLength(1);
    await expect(backfills.cancel(ADMIN, backfill.id)).rejects.toMatchObject({ code: 'BACKFILL_FINISHED' });
  });

  it('refuses a range in the future or reversed, one without fires, and one with more than maxCount', async () => {
    await start();
    const now = h.clock.now();
    const task = await h.createTask({ name: 'minutely', schedule: { cron: '* * * * *' } });
    const manual = await h.createTask({ name: 'by-hand', schedule: { manual: true } });
    const iso = (ms: number) => new Date(ms).toISOString();
    await expect(backfills.start(ADMIN, task, { from: iso(now - MINUTE), to: iso(now + MINUTE) })).rejects.toMatchObject({ code: 'BACKFILL_RANGE_INVALID' });
    await expect(backfills.start(ADMIN, task, { from: iso(now - MINUTE), to: iso(now - 2 * MINUTE) })).rejects.toMatchObject({ code: 'BACKFILL_RANGE_INVALID' });
    await expect(backfills.start(ADMIN, manual, { from: iso(now - 60 * MINUTE), to: iso(now) })).rejects.toMatchObject({ code: 'BACKFILL_EMPTY' });
    await expect(backfills.start(ADMIN, task, { from: iso(now - 60 * MINUTE), to: iso(now), maxCount: 10 })).rejects.toMatchObject({ code: 'BACKFILL_TOO_LARGE' });
    await expect(backfills.start(ADMIN, task, { from: 'yesterday', to: iso(now) } as never)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('a backfill left by a crashed scheduler is adopted and finished by the next one', async () => {
    await start();
    const t0 = h.clock.now();
    const task = await h.createTask({ name: 'minutely', schedule: { cron: '* * * * *' } });
    await h.tasks.pause(ADMIN, task.id);
    await h.clock.advance(5 * MINUTE);
    const backfill = await backfills.start(ADMIN, (await h.store.getTask(task.id))!, { from: new Date(t0).toISOString(), to: new Date(t0 + 4 * MINUTE).toISOString() });
    await h.crashAndRestart();
    backfills = createBackfillService({ store: h.store, control: h.scheduler, clock: h.clock });
    const ended = await untilEnded(backfill.id);
    expect(ended).toMatchObject({ status: 'succeeded', created: 5, owner: h.scheduler.nodeId });
    const sent = h.executor.received.filter((r) => r.event === 'run' && r.body.taskId === task.id).map((r) => r.body.scheduledAt);
    expect(new Set(sent).size).toBe(5);
  });

  it('links the runs it creates, counts only those for its concurrency, and fails when one of them did not succeed', async () => {
    await start();
    const t0 = h.clock.now();
    const task = await h.createTask({ name: 'half-bad', schedule: { cron: '* * * * *' } }, '/odd');
    let calls = 0;
    h.executor.behaviours.set('/odd', () => (++calls % 2 === 0 ? { status: 500, body: 'even calls fail' } : { status: 200, body: {} }));
    await h.tasks.pause(ADMIN, task.id);
    await h.clock.advance(4 * MINUTE);
    const backfill = await backfills.start(ADMIN, (await h.store.getTask(task.id))!, { from: new Date(t0).toISOString(), to: new Date(t0 + 3 * MINUTE).toISOString(), concurrency: 4 });
    const ended = await untilEnded(backfill.id);
    expect(ended).toMatchObject({ status: 'failed', created: 4, error: '2 of the 4 runs it created did not succeed' });
    expect(await backfills.runCounts(ended)).toEqual({ active: 0, succeeded: 2, failed: 2 });
    const runs = (await h.store.listRuns({ taskId: task.id, limit: 10 })).items;
    expect(runs.map((r) => r.backfillId)).toEqual([backfill.id, backfill.id, backfill.id, backfill.id]);
  });
});
