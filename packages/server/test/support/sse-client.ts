/**
 * A Server-Sent Events client for tests: one real HTTP connection of its own (no connection
 * reuse), parsed with eventsource-parser. Events and comments are recorded in order; tests await
 * them with {@link SseClient.next} and {@link SseClient.closed}, never with sleeps.
 */
import { EventEmitter } from 'node:events';
import { type IncomingHttpHeaders, request } from 'node:http';
import { createParser, type EventSourceMessage } from 'eventsource-parser';

export interface SseOpenResult {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body of an answer that is not an event stream (a JSON error), else undefined. */
  body?: string;
  /** The stream of a 200 text/event-stream answer. */
  client?: SseClient;
}

export class SseClient extends EventEmitter<{ event: [EventSourceMessage]; comment: [string]; close: [] }> {
  readonly events: EventSourceMessage[] = [];
  readonly comments: string[] = [];
  isClosed = false;
  /** Resolves when the server has closed the stream (never rejects: for races). */
  readonly ended: Promise<void>;
  readonly #destroy: () => void;

  constructor(destroy: () => void) {
    super();
    this.#destroy = destroy;
    this.ended = new Promise((resolve) => this.once('close', () => resolve()));
  }

  /** Resolves with the first event at index ≥ `from` that matches, waiting for it if need be. */
  next(predicate: (event: EventSourceMessage) => boolean = () => true, timeoutMs = 5000, from = 0): Promise<EventSourceMessage> {
    const seen = this.events.slice(from).find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { cleanup(); reject(new Error(`no matching event; got ${JSON.stringify(this.events)}`)); }, timeoutMs);
      const onEvent = (event: EventSourceMessage) => {
        if (!predicate(event)) return;
        cleanup();
        resolve(event);
      };
      const onClose = () => { cleanup(); reject(new Error(`the stream closed; got ${JSON.stringify(this.events)}`)); };
      const cleanup = () => { clearTimeout(timer); this.off('event', onEvent); this.off('close', onClose); };
      this.on('event', onEvent);
      this.on('close', onClose);
    });
  }

  /** Resolves once `count` events have been received in all. */
  async count(count: number, timeoutMs = 5000): Promise<EventSourceMessage[]> {
    while (this.events.length < count) {
      const before = this.events.length;
      await this.next(() => true, timeoutMs, before);
    }
    return this.events.slice(0, count);
  }

  /** Resolves when the next comment arrives. */
  nextComment(timeoutMs = 5000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.off('comment', onComment); reject(new Error('no comment')); }, timeoutMs);
      const onComment = (comment: string) => { clearTimeout(timer); this.off('comment', onComment); resolve(comment); };
      this.on('comment', onComment);
    });
  }

  /** Resolves when the server has closed the stream. */
  closed(timeoutMs = 5000): Promise<void> {
    if (this.isClosed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the stream did not close; got ${JSON.stringify(this.events)}`)), timeoutMs);
      this.once('close', () => { clearTimeout(timer); resolve(); });
    });
  }

  /** Goes away: the connection is destroyed, as when a browser tab is closed. */
  disconnect(): void {
    this.#destroy();
  }
}

/** GETs `url` with `headers` on a connection of its own. */
export function openSse(url: string, headers: Record<string, string> = {}): Promise<SseOpenResult> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers, agent: false }, (res) => {
      res.setEncoding('utf8');
      const status = res.statusCode ?? 0;
      if (status !== 200 || !String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        let body = '';
        res.on('data', (chunk: string) => { body += chunk; });
        res.on('end', () => resolve({ status, headers: res.headers, body }));
        return;
      }
      const client = new SseClient(() => req.destroy());
      const parser = createParser({
        onEvent: (event) => { client.events.push(event); client.emit('event', event); },
        onComment: (comment) => { client.comments.push(comment); client.emit('comment', comment); },
      });
      res.on('data', (chunk: string) => parser.feed(chunk));
      const close = () => {
        if (client.isClosed) return;
        client.isClosed = true;
        client.emit('close');
      };
      res.on('end', close);
      res.on('close', close);
      res.on('error', close);
      resolve({ status, headers: res.headers, client });
    });
    req.on('error', reject);
    req.end();
  });
}
