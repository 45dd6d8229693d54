import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/testing/manual-clock.ts';
import { TimerQueue } from '../../src/scheduler/timer-queue.ts';

function setup(options?: { leadMs?: number | ((count: number) => number); spanMs?: number }) {
  const clock = new ManualClock(0);
  const batches: { now: number; keys: string[] }[] = [];
  const queue = new TimerQueue<string>(clock, (due) => batches.push({ now: clock.now(), keys: due.map((d) => d.key) }), options);
  return { clock, queue, batches };
}

describe('TimerQueue', () => {
  it('hands out each entry at its instant, never before, in due order, with one timer', async () => {
    const { clock, queue, batches } = setup();
    queue.set('c', 30, 'c');
    queue.set('a', 10, 'a');
    queue.set('b', 10, 'b');
    expect(clock.pendingTimers).toBe(1);
    await clock.advance(9);
    expect(batches).toEqual([]);
    await clock.advance(1);
    expect(batches).toEqual([{ now: 10, keys: ['a', 'b'] }]);
    await clock.advance(20);
    expect(batches[1]).toEqual({ now: 30, keys: ['c'] });
  });

  it('replaces and deletes entries by key', async () => {
    const { clock, queue, batches } = setup();
    queue.set('a', 10, 'a');
    queue.set('a', 50, 'a');
    queue.set('b', 20, 'b');
    expect(queue.delete('b')).toBe(true);
    expect(queue.delete('b')).toBe(false);
    await clock.advance(49);
    expect(batches).toEqual([]);
    await clock.advance(1);
    expect(batches).toEqual([{ now: 50, keys: ['a'] }]);
    expect(queue.size).toBe(0);
  });

  it('with a lead and a span, wakes early and hands out neighbours in one batch', async () => {
    const { clock, queue, batches } = setup({ leadMs: 20, spanMs: 20 });
    for (const at of [100, 105, 119, 120, 121, 150]) queue.set(String(at), at, String(at));
    await clock.advance(79);
    expect(batches).toEqual([]);
    await clock.advance(1);
    expect(batches).toEqual([{ now: 80, keys: ['100', '105', '119', '120'] }]);
    await clock.advance(21); // 101: 121 is due within its lead
    expect(batches[1]).toEqual({ now: 101, keys: ['121'] });
    await clock.advance(29); // 130
    expect(batches[2]).toEqual({ now: 130, keys: ['150'] });
  });

  it('a lead that grows with the entries sharing the earliest instant hands a burst out earlier, and shrinks as they go', async () => {
    const { clock, queue, batches } = setup({ leadMs: (count) => 10 + (count > 1 ? count * 5 : 0) });
    queue.set('single', 100, 'single');
    for (let i = 0; i < 6; i += 1) queue.set(`burst-${i}`, 200, `burst-${i}`);
    await clock.advance(89);
    expect(batches).toEqual([]);
    await clock.advance(1); // 100 − 10
    expect(batches).toEqual([{ now: 90, keys: ['single'] }]);
    await clock.advance(69);
    expect(batches).toHaveLength(1);
    await clock.advance(1); // 200 − (10 + 6 × 5)
    expect(batches[1]).toEqual({ now: 160, keys: ['burst-0', 'burst-1', 'burst-2', 'burst-3', 'burst-4', 'burst-5'] });
    // Deleted entries no longer count: two left at 300 wake 20 ms before it, not 40.
    for (let i = 0; i < 6; i += 1) queue.set(`late-${i}`, 300, `late-${i}`);
    for (let i = 0; i < 4; i += 1) queue.delete(`late-${i}`);
    await clock.advance(119); // 279
    expect(batches).toHaveLength(2);
    await clock.advance(1);
    expect(batches[2]).toEqual({ now: 280, keys: ['late-4', 'late-5'] });
  });
});
