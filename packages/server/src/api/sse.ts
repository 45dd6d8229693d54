/**
 * Server-Sent Events over a Fastify reply taken out of Fastify's hands (`reply.hijack()`): the
 * headers, the `event:` / `id:` / `data:` framing, a keep-alive comment, back-pressure and the
 * client going away. Fastify and Node's HTTP server do everything else. Whatever must be checked
 * or refused (authentication, a missing resource) is done before {@link openEventStream}, while
 * errors can still be answered as JSON.
 */
import type { FastifyReply } from 'fastify';
import type { Clock, TimerHandle } from '../core/clock.ts';

/** The comment line sent while nothing else is, so that proxies and clients keep the stream. */
export const KEEP_ALIVE_MS = 15_000;

export interface EventStreamOptions {
  /** Times the keep-alive comment. */
  clock: Clock;
  /**
   * Interval of the keep-alive comment.
   * @default 15000 — below the 30–60 s idle timeouts of common proxies and load balancers
   */
  keepAliveMs?: number;
}

export interface ServerSentEvent {
  /** The event type; none means `message`. */
  event?: string;
  /** Becomes the client's last event id, sent back as `Last-Event-ID` when it reconnects. */
  id?: string | number;
  /** The data; each line of it becomes a `data:` line. */
  data: string;
}

/** One event as written on the wire. */
export function formatEvent(event: ServerSentEvent): string {
  let text = '';
  if (event.event !== undefined) text += `event: ${singleLine(event.event)}\n`;
  if (event.id !== undefined) text += `id: ${singleLine(String(event.id))}\n`;
  for (const line of event.data.split(/\r\n|\r|\n/)) text += `data: ${line}\n`;
  return `${text}\n`;
}

function singleLine(value: string): string {
  return value.replace(/[\r\n]/g, ' ');
}

/** An open event stream. */
export interface EventStream {
  /** Aborted when the client has gone away or the stream was closed. */
  readonly signal: AbortSignal;
  /**
   * Writes one event, or several in one write. When the socket's buffer is full, resolves only
   * once it has drained (or the client went away). Resolves false when the client is gone and
   * nothing more can be sent.
   */
  send(events: ServerSentEvent | readonly ServerSentEvent[]): Promise<boolean>;
  /** Writes events already formatted ({@link formatEvent}), as `send` does. */
  sendText(text: string): Promise<boolean>;
  /** Ends the response. Idempotent. */
  close(): void;
}

/** Hijacks `reply`, sends the event-stream headers at once, and starts the keep-alive comments. */
export function openEventStream(reply: FastifyReply, options: EventStreamOptions): EventStream {
  const { clock } = options;
  const keepAliveMs = options.keepAliveMs ?? KEEP_ALIVE_MS;
  const controller = new AbortController();
  const { signal } = controller;
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-cache',
    // nginx buffers proxied answers unless told not to.
    'x-accel-buffering': 'no',
  });
  res.flushHeaders();

  let keepAlive: TimerHandle | null = null;
  const armKeepAlive = (): void => {
    keepAlive = clock.setTimer(() => {
      keepAlive = null;
      if (signal.aborted) return;
      // A full buffer means the stream is not idle; the comment is only for idle streams.
      if (!res.writableNeedDrain) res.write(': keep-alive\n\n');
      armKeepAlive();
    }, keepAliveMs);
  };
  const stop = (): void => {
    if (keepAlive) clock.clearTimer(keepAlive);
    keepAlive = null;
    if (!signal.aborted) controller.abort();
  };
  res.on('close', stop);
  // A write racing the client's going away must not become an uncaught error; 'close' follows.
  res.on('error', stop);
  armKeepAlive();

  const sendText = async (text: string): Promise<boolean> => {
    if (signal.aborted) return false;
    if (text === '' || res.write(text)) return true;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        res.off('drain', done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      res.on('drain', done);
      signal.addEventListener('abort', done);
    });
    return !signal.aborted;
  };

  return {
    signal,
    send: (events) => sendText(Array.isArray(events) ? events.map(formatEvent).join('') : formatEvent(events as ServerSentEvent)),
    sendText,
    close() {
      stop();
      if (!res.writableEnded) res.end();
    },
  };
}
