/** Signed requests: each kind of bad signature is refused with its code, and the handler never runs. */
import { describe, expect, it } from 'vitest';
import { makeExecutor, runRequest, signedPost, startFake, useCleanup } from './support/helpers.ts';
import type { FakeEcron } from './support/fake-ecron.ts';
import type { Executor } from '../src/index.ts';

const cleanup = useCleanup();

async function setup(): Promise<{ fake: FakeEcron; executor: Executor; calls: () => number }> {
  const fake = await startFake(cleanup);
  let calls = 0;
  const executor = makeExecutor(fake, cleanup).handle('report', () => {
    calls++;
    return { ok: true };
  });
  await executor.start();
  return { fake, executor, calls: () => calls };
}

describe('signatures', () => {
  it('runs a validly signed request and answers its output', async () => {
    const { fake, executor, calls } = await setup();
    const answer = await signedPost(executor.address!, runRequest(fake));
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ ok: true });
    expect(calls()).toBe(1);
  });

  it('refuses an unsigned request with SIGNATURE_MISSING', async () => {
    const { fake, executor, calls } = await setup();
    const answer = await signedPost(executor.address!, runRequest(fake), { signature: null });
    expect(answer.status).toBe(401);
    expect(answer.body.error.code).toBe('SIGNATURE_MISSING');
    expect(calls()).toBe(0);
  });

  it('refuses a malformed header with SIGNATURE_MALFORMED', async () => {
    const { fake, executor, calls } = await setup();
    const answer = await signedPost(executor.address!, runRequest(fake), { signature: 't=abc,n=,v1=zz' });
    expect(answer.status).toBe(401);
    expect(answer.body.error.code).toBe('SIGNATURE_MALFORMED');
    expect(calls()).toBe(0);
  });

  it('refuses a tampered body with SIGNATURE_MISMATCH', async () => {
    const { fake, executor, calls } = await setup();
    const request = runRequest(fake);
    const signedBody = JSON.stringify(request);
    const tampered = JSON.stringify({ ...request, params: { amount: 1_000_000 } });
    const answer = await signedPost(executor.address!, undefined, { rawBody: tampered, signedBody });
    expect(answer.status).toBe(401);
    expect(answer.body.error.code).toBe('SIGNATURE_MISMATCH');
    expect(calls()).toBe(0);
  });

  it('refuses a body signed with another secret with SIGNATURE_MISMATCH', async () => {
    const { fake, executor, calls } = await setup();
    const answer = await signedPost(executor.address!, runRequest(fake), { secret: 'not-the-group-secret-at-all' });
    expect(answer.status).toBe(401);
    expect(answer.body.error.code).toBe('SIGNATURE_MISMATCH');
    expect(calls()).toBe(0);
  });

  it('refuses a stale timestamp with SIGNATURE_STALE', async () => {
    const { fake, executor, calls } = await setup();
    const answer = await signedPost(executor.address!, runRequest(fake), { timestamp: Date.now() - 6 * 60_000 });
    expect(answer.status).toBe(401);
    expect(answer.body.error.code).toBe('SIGNATURE_STALE');
    expect(calls()).toBe(0);
  });

  it('refuses a replayed nonce with SIGNATURE_REPLAYED (the handler ran once)', async () => {
    const { fake, executor, calls } = await setup();
    const request = runRequest(fake);
    const timestamp = Date.now();
    const first = await signedPost(executor.address!, request, { timestamp, nonce: 'nonce-once' });
    expect(first.status).toBe(200);
    // The same signed bytes again, as an eavesdropper would replay them; and the same nonce on another run.
    const replay = await signedPost(executor.address!, request, { timestamp, nonce: 'nonce-once' });
    const reused = await signedPost(executor.address!, runRequest(fake), { nonce: 'nonce-once' });
    expect([replay.status, replay.body.error.code]).toEqual([401, 'SIGNATURE_REPLAYED']);
    expect([reused.status, reused.body.error.code]).toEqual([401, 'SIGNATURE_REPLAYED']);
    expect(calls()).toBe(1);
  });

  it('refuses cancel and status requests that are not signed', async () => {
    const { executor } = await setup();
    const cancel = await signedPost(executor.address!, { event: 'cancel', runId: 'r', attempt: 1, reason: 'user' }, { event: 'cancel', signature: null });
    const status = await signedPost(executor.address!, { event: 'status', runId: 'r', attempt: 1 }, { event: 'status', secret: 'wrong-secret-wrong-secret' });
    expect([cancel.status, cancel.body.error.code]).toEqual([401, 'SIGNATURE_MISSING']);
    expect([status.status, status.body.error.code]).toEqual([401, 'SIGNATURE_MISMATCH']);
  });
});
