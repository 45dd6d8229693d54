/**
 * Security finding F8 (issue 17): an executor must not read a body of any size before it has
 * checked the signature. Replays the attack (an unsigned body, or a huge one, streamed in chunks)
 * against the SDK's HTTP transport and asserts the refusal and that the connection was closed long
 * before the whole body was sent.
 */
import { describe, expect, it } from 'vitest';
import { SIGNATURE_HEADER } from '@ecron/contracts';
import { floodBody } from '../../server/test/support/body-flood.ts';
import { MAX_BODY_BYTES } from '../src/http-transport.ts';
import { makeExecutor, runRequest, signedPost, startFake, useCleanup } from './support/helpers.ts';

const cleanup = useCleanup();

/** 256 MiB: what the attack sends unless it is stopped. */
const ATTACK_BYTES = 256 * 1024 * 1024;
/** What may get through before the close: the loopback socket buffers, not the body. */
const MAX_THROUGH_BYTES = 32 * 1024 * 1024;

async function startExecutor(): Promise<{ address: string; calls: () => number }> {
  const fake = await startFake(cleanup);
  let calls = 0;
  const executor = makeExecutor(fake, cleanup).handle('report', () => {
    calls++;
    return { ok: true };
  });
  await executor.start();
  // The executor answers signed requests as before.
  expect((await signedPost(executor.address!, runRequest(fake))).status).toBe(200);
  return { address: executor.address!, calls: () => calls };
}

describe('F8: request bodies are bounded before the signature is checked', () => {
  it('an unsigned request is refused with 401 SIGNATURE_MISSING before its body is read, and the connection closed', async () => {
    const { address, calls } = await startExecutor();
    const result = await floodBody(address, {}, ATTACK_BYTES);
    expect(result.status).toBe(401);
    expect(JSON.parse(result.body).error.code).toBe('SIGNATURE_MISSING');
    expect(result.cutShort).toBe(true);
    expect(result.written).toBeLessThan(MAX_THROUGH_BYTES);
    expect(calls()).toBe(1);
  });

  it('a body past MAX_BODY_BYTES is refused with 413 as soon as the bytes pass it, and the connection closed', async () => {
    const { address, calls } = await startExecutor();
    // Any signature header gets the body read, but only up to the limit: the signature is checked on the whole body.
    const result = await floodBody(address, { [SIGNATURE_HEADER]: `t=${Date.now()},n=abc,v1=${'0'.repeat(64)}` }, ATTACK_BYTES);
    expect(result.status).toBe(413);
    expect(JSON.parse(result.body).error.code).toBe('BODY_TOO_LARGE');
    expect(result.cutShort).toBe(true);
    expect(result.written).toBeLessThan(MAX_THROUGH_BYTES);
    expect(calls()).toBe(1);
  });

  it('a Content-Length past MAX_BODY_BYTES is refused with 413 before any of the body is read', async () => {
    const { address } = await startExecutor();
    const headers = { [SIGNATURE_HEADER]: `t=${Date.now()},n=abc,v1=${'0'.repeat(64)}`, 'content-length': String(ATTACK_BYTES) };
    const result = await floodBody(address, headers, ATTACK_BYTES);
    expect(result.status).toBe(413);
    expect(result.cutShort).toBe(true);
    expect(result.written).toBeLessThan(MAX_THROUGH_BYTES);
    expect(MAX_BODY_BYTES).toBe(1024 * 1024);
  });
});
