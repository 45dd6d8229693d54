import { afterEach, describe, expect, it } from 'vitest';
import { HistoryRetention } from '../../src/scheduler/history-retention.ts';
import { SchedulerHarness } from '../support/scheduler-harness.ts';

let h: SchedulerHarness;
let retention: HistoryRetention | null = null;
afterEach(async () => {
  await retention?.stop();
  await h?.close();
});

const DAY = 86_400_000;

describe('history retention', () => {
  it('deletes runs that ended longer ago than the retention, every interval, and keeps the rest', async () => {
    h = await new SchedulerHarness().start();
    const task = await h.createTask({ name: 'history', schedule: { manual: true } }, '/run', { waitQueued: false });
    const old = await h.scheduler.trigger({ task, actor: 'test' });
    await h.ended(old.id);
    await h.clock.advance(2 * DAY);
    const recent = await h.scheduler.trigger({ task, actor: 'test' });
    await h.ended(recent.id);

    const deleted: number[] = [];
    retention = new HistoryRetention({
      store: h.store, clock: h.clock, retentionMs: DAY, intervalMs: 60_000, batchSize: 1,
      log: (_level, _message, fields) => deleted.push(Number(fields?.runs)),
    });
    retention.start();
    await h.clock.advance(59_999);
    expect(await h.store.getRun(old.id)).not.toBeNull();
    await h.clock.advance(1);
    for (;;) {
      if (deleted.length > 0) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(deleted).toEqual([1]);
    expect(await h.store.getRun(old.id)).toBeNull();
    expect(await h.store.listAttempts([old.id])).toEqual([]);
    expect(await h.store.getRun(recent.id)).toMatchObject({ status: 'succeeded' });
    expect(await h.store.getTask(task.id)).not.toBeNull();
  });
});
