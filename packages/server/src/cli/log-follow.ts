/**
 * `ecron run logs ID --follow` and `ecron events --follow`: read a Server-Sent Events stream
 * (`GET /api/v1/runs/{id}/logs?follow=1`, `GET /api/v1/events`) and hand each event over as it
 * comes. A stream that drops (the network, a restarted server, a load balancer) is opened again
 * with `Last-Event-ID`, so that nothing is lost or repeated, after a short backoff; after
 * {@link FOLLOW_MAX_RECONNECTS} tries in a row that brought nothing, it gives up.
 */
import { ERROR_CODES, type ErrorCode, type RunLogResource } from '@ecron/contracts';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { ApiClient, ApiRequest } from './api-client.ts';
import { CliError } from './cli-error.ts';

/** Reconnections in a row, without a line received in between, before giving up. */
export const FOLLOW_MAX_RECONNECTS = 10;
/**
 * A stream silent for this long (not even the server's keep-alive comment, sent every 15 s) is
 * taken as dropped.
 */
export const STREAM_IDLE_MS = 45_000;

/** The wait before reconnection `n` (1, 2, …): 250 ms, doubling up to 4 s. */
export function reconnectDelay(n: number): number {
  return Math.min(250 * 2 ** (n - 1), 4000);
}

/** What the `end` event says. */
export interface RunEnd {
  status: string;
  error: string | null;
}

export interface FollowOptions {
  api: ApiClient;
  runId: string;
  /** The logs route of the run. */
  path: string;
  /** Called with each line, in order, once. */
  onLine: (line: RunLogResource) => void;
  /** Told before each reconnection, with the wait and why. */
  onReconnect?: (p: { attempt: number; delayMs: number; reason: string }) => void;
  /** Waits between reconnections; injected so that tests need not sleep. */
  sleep: (ms: number) => Promise<void>;
  /** @default STREAM_IDLE_MS */
  idleMs?: number;
}

/** Whether a failure to open or read a stream may go away by trying again. */
function isRetryable(error: unknown): boolean {
  if (!(error instanceof CliError)) return true; // a stream that broke while being read
  if (error.code === 'SERVER_UNREACHABLE') return true;
  const known = ERROR_CODES[error.code as ErrorCode] as { status: number } | undefined;
  return known !== undefined && known.status >= 500;
}

function describe(error: unknown): string {
  if (error instanceof CliError) return `${error.code}: ${error.message}`;
  if ((error as { name?: unknown } | null)?.name === 'AbortError') return 'the stream went silent';
  return error instanceof Error ? error.message : String(error);
}

/** Follows the log until `end`; throws what cannot be retried (RUN_NOT_FOUND, UNAUTHENTICATED…). */
export async function followRunLog(options: FollowOptions): Promise<RunEnd> {
  let lastSeq = 0;
  return followStream<RunEnd>({
    ...options,
    query: { follow: 1 },
    what: `the log stream of run ${options.runId}`,
    endedEarly: 'the stream ended before the run did',
    onEvent: (event) => {
      if (event.event === 'end') return JSON.parse(event.data) as RunEnd;
      if (event.event !== 'log') return undefined;
      const line = JSON.parse(event.data) as RunLogResource;
      if (line.seq > lastSeq) {
        lastSeq = line.seq;
        options.onLine(line);
      }
      return undefined;
    },
  });
}

export interface StreamFollowOptions<R> {
  api: ApiClient;
  path: string;
  query?: ApiRequest['query'];
  /** Names the stream in errors ("the log stream of run X"). */
  what: string;
  /** Why a stream that closed is opened again. */
  endedEarly: string;
  /** Called with each event once per connection; a value other than undefined ends the follow with it. */
  onEvent: (event: EventSourceMessage) => R | undefined;
  onReconnect?: (p: { attempt: number; delayMs: number; reason: string }) => void;
  sleep: (ms: number) => Promise<void>;
  /** @default STREAM_IDLE_MS */
  idleMs?: number;
}

/**
 * Reads a Server-Sent Events stream until `onEvent` ends it, opening it again with
 * `Last-Event-ID` when it drops (after a backoff); throws what cannot be retried, and
 * STREAM_INTERRUPTED after {@link FOLLOW_MAX_RECONNECTS} reconnections in a row that brought nothing.
 */
export async function followStream<R>(options: StreamFollowOptions<R>): Promise<R> {
  let lastEventId: string | undefined;
  let failures = 0;
  for (;;) {
    let received = 0;
    let reason = options.endedEarly;
    try {
      const result = await readStream(options, lastEventId, (event) => {
        received += 1;
        if (event.id !== undefined) lastEventId = event.id;
        return options.onEvent(event);
      });
      if (result !== undefined) return result;
    } catch (error) {
      if (!isRetryable(error)) throw error;
      reason = describe(error);
    }
    // Drops in a row: a connection that brought an event starts the count again.
    failures = received > 0 ? 1 : failures + 1;
    if (failures > FOLLOW_MAX_RECONNECTS) {
      throw new CliError('STREAM_INTERRUPTED', `${options.what} dropped and ${FOLLOW_MAX_RECONNECTS} reconnections in a row brought nothing (last: ${reason})`);
    }
    const delayMs = reconnectDelay(failures);
    options.onReconnect?.({ attempt: failures, delayMs, reason });
    await options.sleep(delayMs);
  }
}

/** One connection: resolves with what ended the follow, or undefined when the stream closed first. */
async function readStream<R>(options: StreamFollowOptions<R>, lastEventId: string | undefined, onEvent: (event: EventSourceMessage) => R | undefined): Promise<R | undefined> {
  const idleMs = options.idleMs ?? STREAM_IDLE_MS;
  const silent = new AbortController();
  let timer = setTimeout(() => silent.abort(), idleMs);
  try {
    const body = await options.api.openEventStream({ path: options.path, query: options.query ?? {}, lastEventId, signal: silent.signal });
    let result: R | undefined;
    const parser = createParser({
      onEvent: (event) => {
        if (result === undefined) result = onEvent(event);
      },
    });
    const decoder = new TextDecoder();
    for await (const chunk of body) {
      clearTimeout(timer);
      timer = setTimeout(() => silent.abort(), idleMs);
      parser.feed(decoder.decode(chunk, { stream: true }));
      if (result !== undefined) return result; // leaving the loop cancels the stream
    }
    return result;
  } finally {
    clearTimeout(timer);
  }
}
