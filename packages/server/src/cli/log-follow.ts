/**
 * `ecron run logs ID --follow`: reads the run's log as Server-Sent Events
 * (`GET /api/v1/runs/{id}/logs?follow=1`), hands each line over as it comes, and returns the
 * run's end. A stream that drops before `end` (the network, a restarted server, a load balancer)
 * is opened again with `Last-Event-ID`, so that no line is lost or repeated, after a short backoff;
 * after {@link FOLLOW_MAX_RECONNECTS} tries in a row that brought no line, it gives up.
 */
import { ERROR_CODES, type ErrorCode, type RunLogResource } from '@ecron/contracts';
import { createParser } from 'eventsource-parser';
import type { ApiClient } from './api-client.ts';
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
  let lastEventId: string | undefined;
  let lastSeq = 0;
  let failures = 0;
  for (;;) {
    let received = 0;
    let reason = 'the stream ended before the run did';
    try {
      const end = await readStream(options, lastEventId, (line, id) => {
        received += 1;
        if (id !== undefined) lastEventId = id;
        if (line.seq <= lastSeq) return;
        lastSeq = line.seq;
        options.onLine(line);
      });
      if (end) return end;
    } catch (error) {
      if (!isRetryable(error)) throw error;
      reason = describe(error);
    }
    // Drops in a row: a connection that brought a line starts the count again.
    failures = received > 0 ? 1 : failures + 1;
    if (failures > FOLLOW_MAX_RECONNECTS) {
      throw new CliError('STREAM_INTERRUPTED', `the log stream of run ${options.runId} dropped and ${FOLLOW_MAX_RECONNECTS} reconnections in a row brought nothing (last: ${reason})`);
    }
    const delayMs = reconnectDelay(failures);
    options.onReconnect?.({ attempt: failures, delayMs, reason });
    await options.sleep(delayMs);
  }
}

/** One connection: resolves with the end, or null when the stream closed before it. */
async function readStream(options: FollowOptions, lastEventId: string | undefined, onLog: (line: RunLogResource, id: string | undefined) => void): Promise<RunEnd | null> {
  const idleMs = options.idleMs ?? STREAM_IDLE_MS;
  const silent = new AbortController();
  let timer = setTimeout(() => silent.abort(), idleMs);
  try {
    const body = await options.api.openEventStream({ path: options.path, query: { follow: 1 }, lastEventId, signal: silent.signal });
    let end: RunEnd | null = null;
    const parser = createParser({
      onEvent: (event) => {
        if (end) return;
        if (event.event === 'log') onLog(JSON.parse(event.data) as RunLogResource, event.id);
        else if (event.event === 'end') end = JSON.parse(event.data) as RunEnd;
      },
    });
    const decoder = new TextDecoder();
    for await (const chunk of body) {
      clearTimeout(timer);
      timer = setTimeout(() => silent.abort(), idleMs);
      parser.feed(decoder.decode(chunk, { stream: true }));
      if (end) return end; // leaving the loop cancels the stream
    }
    return end;
  } finally {
    clearTimeout(timer);
  }
}
