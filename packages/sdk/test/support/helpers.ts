/** Shared test helpers: events with a timeout, signed requests to an executor, run envelopes. */
import { randomUUID } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { EVENT_HEADER, SIGNATURE_HEADER, type RunRequest } from '@ecron/contracts';
import { signBody } from '@ecron/contracts/signature';
import { afterEach } from 'vitest';
import { Executor, type ExecutorOptions } from '../../src/index.ts';
import { FAKE_SECRET, FAKE_TOKEN, FakeEcron } from './fake-ecron.ts';

/** Resolves with the arguments of the next `event` matching `predicate`; rejects after `timeoutMs`. */
export function nextEvent<T extends Record<keyof T, any[]>, E extends keyof T & string>(
  emitter: EventEmitter<T>,
  event: E,
  predicate: (...args: T[E]) => boolean = () => true,
  timeoutMs = 5000,
): Promise<T[E]> {
  const target = emitter as unknown as EventEmitter;
  return new Promise((resolve, reject) => {
    const listener = (...args: unknown[]) => {
      if (!predicate(...(args as T[E]))) return;
      clearTimeout(timer);
      target.off(event, listener);
      resolve(args as T[E]);
    };
    const timer = setTimeout(() => {
      target.off(event, listener);
      reject(new Error(`no "${event}" event within ${timeoutMs} ms`));
    }, timeoutMs);
    target.on(event, listener);
  });
}

/** Stops what a test started, after it (LIFO). */
export function useCleanup(): (step: () => Promise<unknown> | unknown) => void {
  const steps: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const step of steps.splice(0).reverse()) await step();
  });
  return (step) => steps.push(step);
}

/** A run envelope whose callback points at the fake's report route. */
export function runRequest(fake: FakeEcron, overrides: Partial<RunRequest> = {}): RunRequest {
  const runId = overrides.runId ?? `run-${randomUUID().slice(0, 8)}`;
  const attempt = overrides.attempt ?? 1;
  return {
    runId,
    taskId: 'task-1',
    namespace: 'default',
    task: 'nightly',
    scheduledAt: '2026-01-01T00:00:00.000Z',
    attempt,
    params: {},
    shard: { index: 0, total: 1 },
    deadline: null,
    callback: { url: `${fake.url}/api/v1/runs/${runId}/report`, token: `cb-${runId}-${attempt}` },
    group: 'billing',
    handler: 'report',
    ...overrides,
  };
}

export interface SignedPost {
  secret?: string;
  event?: 'run' | 'cancel' | 'status' | string;
  /** Replaces the computed header (null: none). */
  signature?: string | null;
  timestamp?: number;
  nonce?: string;
  /** Sent instead of JSON.stringify(body) (the signature still covers `signedBody ?? text`). */
  rawBody?: string;
  signedBody?: string;
  signal?: AbortSignal;
}

export interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

/** POSTs a signed request to an executor, as the scheduler does. */
export async function signedPost(url: string, body: unknown, options: SignedPost = {}): Promise<Answer> {
  const text = options.rawBody ?? JSON.stringify(body);
  const signature = options.signature === undefined
    ? signBody(options.secret ?? FAKE_SECRET, options.signedBody ?? text, options.timestamp ?? Date.now(), options.nonce)
    : options.signature;
  const headers: Record<string, string> = { 'content-type': 'application/json', [EVENT_HEADER]: options.event ?? 'run' };
  if (signature !== null) headers[SIGNATURE_HEADER] = signature;
  const response = await fetch(url, { method: 'POST', headers, body: text, signal: options.signal });
  const answer = await response.text();
  let parsed: unknown = answer;
  try {
    parsed = JSON.parse(answer);
  } catch {
    // not JSON: kept as text
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/** A started fake API, stopped after the test. */
export async function startFake(cleanup: ReturnType<typeof useCleanup>): Promise<FakeEcron> {
  const fake = await new FakeEcron().start();
  cleanup(() => fake.stop());
  return fake;
}

/** An executor of group `billing` on the fake (not started), stopped after the test. */
export function makeExecutor(fake: FakeEcron, cleanup: ReturnType<typeof useCleanup>, options: Partial<ExecutorOptions> = {}): Executor {
  const executor = new Executor({ server: fake.url, token: FAKE_TOKEN, group: 'billing', id: `test-${randomUUID().slice(0, 8)}`, ...options });
  cleanup(() => executor.stop());
  return executor;
}

/** A promise with its resolve function, for handlers a test releases. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
}
