/**
 * Security headers (issue 17, F5): every answer, the console's pages and assets as much as the
 * API, `/openapi.json`, errors and event streams, forbids framing (clickjacking), MIME sniffing
 * and referrers, and carries a Content-Security-Policy that the console build works under.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.ts';
import { CONSOLE_DIST } from '../../src/api/console.ts';
import { ApiHarness } from './api-harness.ts';

let h: ApiHarness | undefined;
let consoleDir: string;
beforeAll(() => {
  // A console build of the test's own, shaped as Vite writes it.
  consoleDir = mkdtempSync(join(tmpdir(), 'ecron-headers-console-'));
  mkdirSync(join(consoleDir, 'assets'));
  writeFileSync(join(consoleDir, 'index.html'), '<!doctype html><title>ecron</title><script type="module" crossorigin src="/assets/index-abc.js"></script><div id="root"></div>');
  writeFileSync(join(consoleDir, 'assets', 'index-abc.js'), 'console.log(1)');
});
afterAll(() => rmSync(consoleDir, { recursive: true, force: true }));
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Whether packages/console/dist holds a build: without one the check is skipped with a warning, and fails under CI=true. */
function consoleBuilt(what: string): boolean {
  if (existsSync(join(CONSOLE_DIST, 'index.html'))) return true;
  if (process.env.CI === 'true') throw new Error(`${what}: packages/console/dist is not built (npm run build -w @ecron/console)`);
  console.warn(`${what} skipped: packages/console/dist is not built (npm run build -w @ecron/console)`);
  return false;
}

/** The Content-Security-Policy of an answer, as directive → sources. */
function csp(res: LightMyRequestResponse): Map<string, string[]> {
  const header = String(res.headers['content-security-policy'] ?? '');
  return new Map(header.split(';').map((d) => d.trim()).filter(Boolean).map((d) => {
    const [name, ...sources] = d.split(/\s+/);
    return [name!, sources];
  }));
}

function expectSecurityHeaders(res: LightMyRequestResponse, what: string): void {
  expect(res.headers['x-frame-options'], what).toBe('DENY');
  expect(res.headers['x-content-type-options'], what).toBe('nosniff');
  expect(res.headers['referrer-policy'], what).toBe('no-referrer');
  const policy = csp(res);
  expect(policy.get('frame-ancestors'), what).toEqual(["'none'"]);
  expect(policy.get('default-src'), what).toEqual(["'self'"]);
  // No inline or evaluated script: an injected <script> or onclick= does not run.
  expect(policy.get('script-src'), what).toEqual(["'self'"]);
  expect(policy.get('script-src-attr'), what).toEqual(["'none'"]);
  expect(policy.get('style-src'), what).toEqual(["'self'", "'unsafe-inline'"]);
  expect(policy.get('connect-src'), what).toEqual(["'self'"]);
  expect(policy.get('img-src'), what).toEqual(["'self'", 'data:']);
  expect(policy.get('worker-src'), what).toEqual(["'self'"]);
  expect(policy.get('object-src'), what).toEqual(["'none'"]);
  // Plain-HTTP deployments must keep working: nothing upgrades the console's requests to https.
  expect(policy.has('upgrade-insecure-requests'), what).toBe(false);
  expect(res.headers['strict-transport-security'], what).toBeUndefined();
}

describe('security headers', () => {
  it('are on console pages and assets, /openapi.json, and API answers whatever their status', async () => {
    h = await new ApiHarness().start();
    await h.app.close();
    h.app = await buildApp({ store: h.store, control: h.scheduler, clock: h.clock, version: '0.0.0-test', consoleDir });

    const page = await h.call('GET', '/', { token: null });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('/assets/index-abc.js');
    expectSecurityHeaders(page, 'GET /');
    const deepLink = await h.call('GET', '/tasks/some-task', { token: null });
    expect(deepLink.headers['content-type']).toMatch(/^text\/html/);
    expectSecurityHeaders(deepLink, 'a console page');
    const asset = await h.call('GET', '/assets/index-abc.js', { token: null });
    expect(asset.statusCode).toBe(200);
    expectSecurityHeaders(asset, 'a console asset');

    const openapi = await h.call('GET', '/openapi.json', { token: null });
    expect(openapi.statusCode).toBe(200);
    expectSecurityHeaders(openapi, '/openapi.json');
    expectSecurityHeaders(await h.call('GET', '/healthz', { token: null }), '/healthz');
    const list = await h.call('GET', '/api/v1/tasks');
    expect(list.statusCode).toBe(200);
    expectSecurityHeaders(list, 'GET /api/v1/tasks');

    // Refusals too: they are answered before any route runs.
    const unauthenticated = await h.call('GET', '/api/v1/tasks', { token: 'ecr_wrong' });
    expect(unauthenticated.statusCode).toBe(401);
    expectSecurityHeaders(unauthenticated, 'a 401');
    const unknown = await h.call('GET', '/api/v1/no-such-route');
    expect(unknown.statusCode).toBe(404);
    expectSecurityHeaders(unknown, 'a 404');
    const invalid = await h.call('POST', '/api/v1/tasks', { body: '{"name":' });
    expect(invalid.statusCode).toBe(400);
    expectSecurityHeaders(invalid, 'a 400');
  });

  it('are on a Server-Sent Events stream, which still streams', async () => {
    h = await new ApiHarness().start();
    const task = await h.createTask({ name: 'logged' });
    const run = (await h.call('POST', `/api/v1/tasks/${task.id}/trigger`)).json();
    await h.ended(run.id);
    const stream = await h.call('GET', `/api/v1/runs/${run.id}/logs?follow=1`);
    expect(stream.statusCode).toBe(200);
    expect(stream.headers['content-type']).toBe('text/event-stream');
    expect(stream.body).toContain('event: end');
    expectSecurityHeaders(stream, 'the log stream');
  });

  // The production build that `ecron start` serves (made by `npm ci`): its index.html must need no
  // inline script and nothing from another origin, which the policy would block.
  it.runIf(consoleBuilt('the console build check'))('allow everything the console build loads', () => {
    const dist = CONSOLE_DIST;
    const index = readFileSync(join(dist, 'index.html'), 'utf8');
    const scripts = [...index.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attributes, body] of scripts) {
      expect(body!.trim(), 'an inline script').toBe('');
      expect(attributes).toMatch(/\bsrc="\/assets\//);
    }
    expect(index).not.toMatch(/\son[a-z]+=/i);
    for (const [, url] of index.matchAll(/(?:src|href)="([^"]+)"/g)) expect(url!, url).toMatch(/^(\/(?!\/)|data:)/);
    // The workflow layout worker is a file of the build, allowed by worker-src 'self'; a blob: worker would not be.
    const code = readdirSync(join(dist, 'assets')).filter((f) => f.endsWith('.js')).map((f) => readFileSync(join(dist, 'assets', f), 'utf8')).join('\n');
    expect(readdirSync(join(dist, 'assets')).some((f) => /^layout\.worker-.*\.js$/.test(f))).toBe(true);
    expect(code).not.toMatch(/createObjectURL|new Function\(|\beval\(/);
  });
});
