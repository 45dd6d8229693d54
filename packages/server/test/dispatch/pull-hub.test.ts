import { describe, expect, it } from 'vitest';
import { PullHub } from '../../src/dispatch/pull-hub.ts';

describe('PullHub', () => {
  it('answers the waiting long polls when closed, and later polls do not wait', async () => {
    const hub = new PullHub();
    const signal = new AbortController().signal;
    let answered = false;
    const waiting = hub.poll('node-1', { max: 10, waitMs: 600_000, running: [] }, signal).then((reply) => { answered = true; return reply; });
    await new Promise((resolve) => setImmediate(resolve));
    expect(answered).toBe(false);
    hub.close();
    expect(await waiting).toEqual({ deliveries: [], cancels: [] });
    expect(await hub.poll('node-1', { max: 10, waitMs: 600_000, running: [] }, signal)).toEqual({ deliveries: [], cancels: [] });
  });
});
