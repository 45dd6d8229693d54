/**
 * The limit on failed authentications (issue 17, F7): the audit answered 3,178 wrong tokens a
 * second and never said 429. Requests without a valid token (missing, unknown, revoked) count
 * per client address; past the limit the address gets 429 TOO_MANY_FAILED_AUTHENTICATIONS with
 * Retry-After until its window ends. A valid token is never counted; one used from the address
 * before keeps working, and one first seen while the address is refused gets the same 429 as a
 * wrong one (a guess that hits is not told from one that misses).
 */
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../../src/api/app.ts';
import { ApiHarness, errorOf } from './api-harness.ts';

let h: ApiHarness;
beforeEach(async () => {
  h = await new ApiHarness().start();
});
afterEach(async () => {
  vi.useRealTimers();
  await h.close();
});

const spec = (name: string) => ({ name, schedule: { every: '1h' }, target: { type: 'http', url: 'http://127.0.0.1:9000/run' } });

/** A request from `address` (inject's default is 127.0.0.1), with `token` as bearer (null: none). */
function from(address: string, method: InjectOptions['method'], url: string, token: string | null, body?: unknown): Promise<LightMyRequestResponse> {
  return h.app.inject({
    method, url, remoteAddress: address,
    headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
  });
}

function expectLimited(res: LightMyRequestResponse, what: string): void {
  expect(res.statusCode, what).toBe(429);
  expect(errorOf(res).code, what).toBe('TOO_MANY_FAILED_AUTHENTICATIONS');
  const retryAfter = Number(res.headers['retry-after']);
  expect(retryAfter, what).toBeGreaterThan(0);
  expect(retryAfter, what).toBeLessThanOrEqual(60);
  expect(errorOf(res).details, what).toEqual({ retryAfterSeconds: retryAfter });
}

describe('failed authentications', () => {
  it('answers 429 with Retry-After after 20 wrong tokens from one address, stores nothing, and still serves a token used from it before', async () => {
    // The admin token works from this address before the flood; a second valid token has never been used from it.
    expect((await h.call('GET', '/api/v1/me')).statusCode).toBe(200);
    const unseen = await h.token('editor', ['*'], 'unseen');
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      const res = await h.call('POST', '/api/v1/tasks', { token: `ecr_guess_${i}`, body: spec(`guess-${i}`) });
      statuses.push(res.statusCode);
      if (res.statusCode === 429) expectLimited(res, `attempt ${i + 1}`);
    }
    expect(statuses).toEqual([...Array<number>(20).fill(401), ...Array<number>(10).fill(429)]);
    expect(errorOf(await h.call('GET', '/api/v1/tasks', { token: 'ecr_guess_30' })).code).toBe('TOO_MANY_FAILED_AUTHENTICATIONS');
    expect(await h.taskCount()).toBe(0);

    // Missing and revoked tokens are failures too.
    expectLimited(await h.call('GET', '/api/v1/tasks', { token: null }), 'no token');
    const revoked = await h.token('editor');
    expect((await h.call('DELETE', `/api/v1/tokens/${revoked.id}`)).statusCode).toBe(200);
    expectLimited(await h.call('GET', '/api/v1/tasks', { token: revoked.secret }), 'a revoked token');

    // A valid token used from here before is answered as ever, and is not counted; a valid token
    // first seen now reads as a wrong one would.
    expectLimited(await h.call('GET', '/api/v1/me', { token: unseen.secret }), 'a valid token not used from this address before');
    expect((await from('192.0.2.9', 'GET', '/api/v1/me', unseen.secret)).statusCode).toBe(200);
    expect((await h.call('GET', '/api/v1/me')).statusCode).toBe(200);
    expect((await h.call('POST', '/api/v1/tasks', { body: spec('by-admin') })).statusCode).toBe(201);
    expect(await h.taskCount()).toBe(1);
    // Public routes do not ask for a token: never limited.
    expect((await h.call('GET', '/healthz', { token: null })).statusCode).toBe(200);
    // Another address has its own count.
    expect((await from('192.0.2.7', 'GET', '/api/v1/tasks', 'ecr_guess')).statusCode).toBe(401);
  });

  it('counts only failures: successes and refusals of a valid token (403) never use up the allowance', async () => {
    const viewer = (await h.token('viewer')).secret;
    for (let i = 0; i < 30; i++) expect((await h.call('GET', '/api/v1/tasks')).statusCode).toBe(200);
    for (let i = 0; i < 30; i++) expect((await h.call('POST', '/api/v1/tasks', { token: viewer, body: spec(`by-viewer-${i}`) })).statusCode).toBe(403);
    for (let i = 0; i < 20; i++) expect((await h.call('GET', '/api/v1/tasks', { token: 'ecr_wrong' })).statusCode, `failure ${i + 1}`).toBe(401);
    expectLimited(await h.call('GET', '/api/v1/tasks', { token: 'ecr_wrong' }), 'failure 21');
  });

  it('counts an IPv6 client by its /64, apart from other addresses', async () => {
    expect((await from('2001:db8:1:2::ffff', 'GET', '/api/v1/me', h.admin)).statusCode).toBe(200);
    for (let i = 0; i < 20; i++) expect((await from(`2001:db8:1:2::${i + 1}`, 'GET', '/api/v1/tasks', 'ecr_wrong')).statusCode).toBe(401);
    expectLimited(await from('2001:db8:1:2::ffff', 'GET', '/api/v1/tasks', 'ecr_wrong'), 'the same /64');
    expect((await from('2001:db8:1:3::1', 'GET', '/api/v1/tasks', 'ecr_wrong')).statusCode).toBe(401);
    // The admin token was used from ::ffff before: it works; from another address of the /64 it was not.
    expect((await from('2001:db8:1:2::ffff', 'GET', '/api/v1/tasks', h.admin)).statusCode).toBe(200);
    expectLimited(await from('2001:db8:1:2::7', 'GET', '/api/v1/tasks', h.admin), 'a valid token new to this address');
  });

  it('takes its limit and window from the options, and forgets an address once its window has passed', async () => {
    // The limit's store reads Date.now(): only Date is faked, timers keep running.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    await h.app.close();
    h.app = await buildApp({ store: h.store, control: h.scheduler, clock: h.clock, version: '0.0.0-test', authFailureLimit: { max: 3, windowMs: 10_000 } });
    const wrong = () => h.call('GET', '/api/v1/tasks', { token: 'ecr_wrong' });
    for (let i = 0; i < 3; i++) expect((await wrong()).statusCode).toBe(401);
    const limited = await wrong();
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBe('10');
    expect(errorOf(limited).message).toMatch(/more than 3 in 10 s/);

    vi.advanceTimersByTime(6_000);
    const later = await wrong();
    expect(later.statusCode).toBe(429);
    expect(later.headers['retry-after']).toBe('4');
    vi.advanceTimersByTime(4_000);
    expect((await wrong()).statusCode).toBe(401);
    expect((await h.call('GET', '/api/v1/tasks')).statusCode).toBe(200);
  });
});
