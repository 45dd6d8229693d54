/**
 * Security finding F8 (issue 17): the example HTTP executor (examples/http-executor/executor.ts)
 * read whole request bodies before checking the signature; an unsigned 300 MB body took it to
 * 992 MB of memory. Runs the example as a real process, replays the attack (bodies streamed in
 * chunks) and asserts the refusal, that the connection was closed long before the whole body was
 * sent, and that the process's peak memory stayed far below the body's size.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EVENT_HEADER, SIGNATURE_HEADER } from '@ecron/contracts';
import { signBody } from '@ecron/contracts/signature';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { floodBody } from '../support/body-flood.ts';
import { NODE } from '../support/server-process.ts';

const EXAMPLE = resolve(import.meta.dirname, '../../../../examples/http-executor/executor.ts');
const SIGNING_KEY = 'example-executor-test-key-0123456789';
/** 256 MiB: what the attack sends unless it is stopped. */
const ATTACK_BYTES = 256 * 1024 * 1024;
/** What may get through before the close: the loopback socket buffers, not the body. */
const MAX_THROUGH_BYTES = 32 * 1024 * 1024;
const MiB = 1024 * 1024;

/** The peak resident memory of process `pid` (Linux), in bytes; undefined elsewhere. */
function peakRss(pid: number): number | undefined {
  const file = join('/proc', String(pid), 'status');
  if (!existsSync(file)) return undefined;
  const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(file, 'utf8'));
  return match ? Number(match[1]) * 1024 : undefined;
}

describe('F8: the example HTTP executor bounds what it reads before the signature', () => {
  let child: ChildProcess;
  let url = '';

  beforeAll(async () => {
    child = spawn(NODE, [EXAMPLE, '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ECRON_SIGNING_KEY: SIGNING_KEY } });
    let stderr = '';
    url = await new Promise<string>((resolveUrl, reject) => {
      const timer = setTimeout(() => reject(new Error(`the example did not start: ${stderr}`)), 20_000);
      child.stderr!.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
        if (match) {
          clearTimeout(timer);
          resolveUrl(match[1]!);
        }
      });
      child.once('exit', (code) => reject(new Error(`the example exited with ${code}: ${stderr}`)));
    });
  }, 30_000);

  afterAll(async () => {
    if (child?.exitCode !== null) return;
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGTERM');
    await exited;
  });

  it('still answers a signed run request', async () => {
    const body = JSON.stringify({ runId: 'r1', attempt: 1, task: 'hello', params: {}, scheduledAt: new Date().toISOString() });
    const res = await fetch(`${url}/hello`, {
      method: 'POST', body,
      headers: { 'content-type': 'application/json', [EVENT_HEADER]: 'run', [SIGNATURE_HEADER]: signBody(SIGNING_KEY, body, Date.now()) },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ greeting: 'hello from hello' });
  });

  it('refuses an unsigned body with 401 before reading it, and closes the connection', async () => {
    const result = await floodBody(`${url}/hello`, {}, ATTACK_BYTES);
    expect(result.status).toBe(401);
    expect(JSON.parse(result.body)).toEqual({ error: 'SIGNATURE_MISSING' });
    expect(result.cutShort).toBe(true);
    expect(result.written).toBeLessThan(MAX_THROUGH_BYTES);
  });

  it('refuses a body past 1 MiB with 413 as soon as the bytes pass it, and closes the connection', async () => {
    // A signature header gets the body read (the signature covers it), but only up to the limit.
    const result = await floodBody(`${url}/hello`, { [SIGNATURE_HEADER]: `t=${Date.now()},n=abc,v1=${'0'.repeat(64)}` }, ATTACK_BYTES);
    expect(result.status).toBe(413);
    expect(JSON.parse(result.body)).toEqual({ error: 'BODY_TOO_LARGE' });
    expect(result.cutShort).toBe(true);
    expect(result.written).toBeLessThan(MAX_THROUGH_BYTES);
  });

  it('refuses a Content-Length past 1 MiB with 413 at once', async () => {
    const headers = { [SIGNATURE_HEADER]: `t=${Date.now()},n=abc,v1=${'0'.repeat(64)}`, 'content-length': String(ATTACK_BYTES) };
    const result = await floodBody(`${url}/hello`, headers, ATTACK_BYTES);
    expect(result.status).toBe(413);
    expect(result.cutShort).toBe(true);
    expect(result.written).toBeLessThan(MAX_THROUGH_BYTES);
  });

  it('keeps its peak memory far below the size of the attacks it was sent', async () => {
    await floodBody(`${url}/hello`, {}, ATTACK_BYTES);
    await floodBody(`${url}/hello`, { [SIGNATURE_HEADER]: 'garbage' }, ATTACK_BYTES);
    const peak = peakRss(child.pid!);
    if (peak === undefined) return; // not Linux: the cut-short connections are the evidence
    expect(peak).toBeLessThan(200 * MiB);
  });
});
