/**
 * The live log of a run: `GET /api/v1/runs/{id}/logs?follow=1`, a Server-Sent Events stream read
 * through fetch (an EventSource cannot send the bearer token) and parsed with eventsource-parser.
 * Lines come as `log` events with their seq as id; `end` carries the run's final status. A stream
 * that drops before `end` is opened again after the last line received (`Last-Event-ID`).
 */
import { createParser } from 'eventsource-parser';
import { ApiError, session, type RunLogResource } from './api.ts';

/** What the `end` event says. */
export interface RunLogEnd {
  status: string;
  error: string | null;
}

export interface RunLogStreamOptions {
  /** Lines after this seq only. */
  afterSeq: number;
  /** Aborting closes the stream (and the server stops its work for it). */
  signal: AbortSignal;
  /** Each batch of lines as it arrives, in order, each line once. */
  onLines: (lines: RunLogResource[]) => void;
}

/** Reconnections in a row, without a line received in between, before giving up. */
const MAX_RECONNECTS = 10;

/** The wait before reconnection `n` (1, 2, …): 500 ms, doubling up to 8 s. */
const reconnectDelay = (n: number): number => Math.min(500 * 2 ** (n - 1), 8000);

function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

/**
 * Streams the log of `runId` until its end, which it resolves with; resolves null when aborted.
 * Rejects with an {@link ApiError} for an answer that cannot change by asking again (RUN_NOT_FOUND,
 * UNAUTHENTICATED…), or after {@link MAX_RECONNECTS} failed reconnections in a row.
 */
export async function streamRunLog(runId: string, options: RunLogStreamOptions): Promise<RunLogEnd | null> {
  const { signal } = options;
  let lastSeq = options.afterSeq;
  let failures = 0;
  while (!signal.aborted) {
    let received = 0;
    let failure: unknown = null;
    try {
      const end = await readOnce(runId, lastSeq, signal, (lines) => {
        const fresh = lines.filter((line) => line.seq > lastSeq);
        if (fresh.length === 0) return;
        received += fresh.length;
        lastSeq = fresh.at(-1)!.seq;
        options.onLines(fresh);
      });
      if (end) return end;
    } catch (error) {
      if (signal.aborted) return null;
      if (error instanceof ApiError && error.status >= 400 && error.status < 500) throw error;
      failure = error;
    }
    failures = received > 0 ? 1 : failures + 1;
    if (failures > MAX_RECONNECTS) {
      throw failure ?? new ApiError(0, 'NETWORK', 'the log stream keeps dropping before the run ends');
    }
    await wait(reconnectDelay(failures), signal);
  }
  return null;
}

/** One connection: the end, or null when the stream closed before it. */
async function readOnce(runId: string, afterSeq: number, signal: AbortSignal, onLines: (lines: RunLogResource[]) => void): Promise<RunLogEnd | null> {
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  const token = session.token();
  if (token) headers.authorization = `Bearer ${token}`;
  if (afterSeq > 0) headers['last-event-id'] = String(afterSeq);
  let response: Response;
  try {
    response = await fetch(`/api/v1/runs/${encodeURIComponent(runId)}/logs?follow=1`, { headers, signal, cache: 'no-store' });
  } catch (error) {
    throw new ApiError(0, 'NETWORK', (error as Error).message);
  }
  if (!response.ok || !response.body) {
    const body = (await response.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
    throw new ApiError(response.status, body?.error?.code ?? `HTTP_${response.status}`, body?.error?.message ?? response.statusText);
  }
  let end: RunLogEnd | null = null;
  let batch: RunLogResource[] = [];
  const parser = createParser({
    onEvent: (event) => {
      if (event.event === 'log') batch.push(JSON.parse(event.data) as RunLogResource);
      else if (event.event === 'end') end = JSON.parse(event.data) as RunLogEnd;
    },
  });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.feed(value);
      // One state update per chunk, not per line.
      if (batch.length > 0) {
        onLines(batch);
        batch = [];
      }
      if (end) return end;
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
  return end;
}
