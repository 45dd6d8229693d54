/**
 * A sink appending to a Redis stream (issue 18). Each event is one entry, added with XADD under
 * the explicit entry id `<seq>-0`, fields `seq`, `id`, `type`, `body` (and `MAXLEN ~ n` when
 * given), the batch in one pipeline.
 *
 * **Idempotent.** Redis refuses an entry id not above the stream's last one ("equal or smaller
 * than the target stream top item"). A subscription's seqs only grow, so a redelivered event is
 * refused, and the refusal means "already there": the stream holds each event once, in seq order,
 * even after a crash between the XADD and the cursor moving. This needs the stream to be written by
 * this subscription alone; a refusal is therefore checked against the stream's last entry, which
 * must carry this subscription's id prefix, else the delivery fails with an error saying so.
 *
 * The client neither queues commands while disconnected nor reconnects on its own: after a failure
 * the sink drops the connection and the next `deliver` connects again.
 */
import { Redis } from 'ioredis';
import type { EventMessage, EventSink } from './sink.ts';
import { brokerError, DEFAULT_BROKER_TIMEOUT_MS, LazyConnection, maskUrl, within, type BrokerSinkOptions } from './broker-common.ts';

export interface RedisSinkConfig {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…`. */
  url: string;
  /** The stream's key. */
  stream: string;
  /** Trims the stream to about this many entries (`MAXLEN ~`). */
  maxLen?: number | undefined;
}

const TOO_SMALL = /equal or smaller than the target stream top item/i;

/** `<subscription id>:` of a message id `<subscription id>:<seq>` ('' when it has no colon). */
const idPrefix = (id: string): string => id.slice(0, id.lastIndexOf(':') + 1);

/** The client name a sink's connection shows in CLIENT LIST: `ecron-sink:<stream key>`. */
export const redisSinkClientName = (stream: string): string => `ecron-sink:${stream.replace(/[^\w:.-]/g, '_')}`;

export class RedisSink implements EventSink {
  readonly #config: RedisSinkConfig;
  readonly #url: string;
  readonly #timeoutMs: number;
  readonly #connection: LazyConnection<Redis>;

  constructor(config: RedisSinkConfig, options: BrokerSinkOptions = {}) {
    this.#config = config;
    this.#url = maskUrl(config.url, true);
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_BROKER_TIMEOUT_MS;
    this.#connection = new LazyConnection(() => this.#open(), (r) => r.status === 'ready', async (r) => {
      r.disconnect();
    });
  }

  async deliver(messages: readonly EventMessage[]): Promise<void> {
    if (this.#connection.closed) throw new Error(`redis sink (${this.#url}): closed`);
    if (messages.length === 0) return;
    const redis = await this.#connection.get();
    let results: [Error | null, unknown][] | null;
    try {
      const pipeline = redis.pipeline();
      const { stream, maxLen } = this.#config;
      for (const m of messages) {
        const trim = maxLen === undefined ? [] : ['MAXLEN', '~', maxLen];
        pipeline.xadd(stream, ...trim, `${m.seq}-0`, 'seq', m.seq, 'id', m.id, 'type', m.type, 'body', m.body);
      }
      results = await within(pipeline.exec(), this.#timeoutMs, `no reply within ${this.#timeoutMs} ms`);
    } catch (error) {
      await this.#connection.drop();
      throw brokerError('redis', this.#url, `XADD to ${this.#config.stream} failed`, error);
    }
    if (results === null) {
      await this.#connection.drop();
      throw new Error(`redis sink (${this.#url}): XADD to ${this.#config.stream} failed: the pipeline was not run`);
    }
    let refused: EventMessage | null = null;
    for (const [i, [error]] of results.entries()) {
      if (error === null) continue;
      if (!TOO_SMALL.test(error.message)) {
        await this.#connection.drop();
        throw brokerError('redis', this.#url, `XADD of seq ${messages[i]!.seq} to ${this.#config.stream} failed`, error);
      }
      refused ??= messages[i]!;
    }
    if (refused) await this.#checkOwnStream(redis, refused);
  }

  close(): Promise<void> {
    return this.#connection.close();
  }

  /** Refused ids are redeliveries only if the stream's last entry is this subscription's. */
  async #checkOwnStream(redis: Redis, refused: EventMessage): Promise<void> {
    const last = await redis.xrevrange(this.#config.stream, '+', '-', 'COUNT', 1).catch(() => null);
    const fields = last?.[0]?.[1];
    if (!fields) return; // trimmed to nothing, or unreadable: the refusal still says a later entry was there
    const at = fields.indexOf('id');
    const lastId = at >= 0 && at % 2 === 0 ? fields[at + 1] : undefined;
    if (lastId !== undefined && idPrefix(lastId) === idPrefix(refused.id)) return;
    throw new Error(`redis sink (${this.#url}): stream ${this.#config.stream} already holds entries past seq ${refused.seq} that this subscription did not write `
      + `(its last entry is ${last![0]![0]}, id ${lastId ?? 'none'}); give each subscription a stream of its own`);
  }

  async #open(): Promise<Redis> {
    const redis = new Redis(this.#config.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: this.#timeoutMs,
      connectionName: redisSinkClientName(this.#config.stream),
    });
    let socketError: Error | null = null;
    redis.on('error', (error: Error) => {
      socketError = error; // otherwise surfaced by the command that fails
    });
    try {
      await within(redis.connect(), this.#timeoutMs, `no connection within ${this.#timeoutMs} ms`);
      return redis;
    } catch (error) {
      redis.disconnect();
      // connect() says only "Connection is closed."; the socket's error says why.
      throw brokerError('redis', this.#url, 'cannot connect', socketError ?? error);
    }
  }
}
