/**
 * A sink publishing to NATS JetStream (issue 18). Each event is published to its subject with
 * `Nats-Msg-Id` = the message's id, so JetStream drops a redelivery within the stream's duplicate
 * window (the PubAck says `duplicate`), and with `Nats-Expected-Stream` when a stream is named.
 *
 * **One at a time.** Each publish waits for its PubAck before the next goes. Publishing a batch
 * concurrently is faster, and one connection's messages do reach the server in order, but a
 * message lost on the way (a connection drop, a clustered stream electing a leader) while a later
 * one is stored would leave a gap that the redelivery fills out of order. Sequential publishing
 * cannot: a message goes only once the one before it is stored.
 *
 * The connection does not reconnect on its own (pending publishes would be resent on a new
 * connection behind later ones): after a failure the sink drops it and the next `deliver` connects
 * again, and (when a stream is named) checks or creates the stream again.
 */
import { connect, headers, type JetStreamClient, type NatsConnection, type NatsError } from 'nats';
import type { EventMessage, EventSink } from './sink.ts';
import { brokerError, DEFAULT_BROKER_TIMEOUT_MS, LazyConnection, maskUrl, natsStreamSubjects, within, withType, type BrokerSinkOptions } from './broker-common.ts';

export interface NatsSinkConfig {
  /** One server URL, or several separated by commas; credentials may be in the first (`nats://user:pass@host`, `nats://token@host`). */
  url: string;
  /** The subject; `{type}` is replaced by the event's type. */
  subject: string;
  /** A stream that must store the messages; created when missing, with the subjects the pattern gives. */
  stream?: string | undefined;
}

interface Connected {
  nc: NatsConnection;
  js: JetStreamClient;
}

/** The servers of `url` without credentials, and the credentials of the first. */
function connectOptions(url: string): { servers: string[]; user?: string; pass?: string; token?: string } {
  const servers: string[] = [];
  const auth: { user?: string; pass?: string; token?: string } = {};
  for (const part of url.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const match = /^([a-z][a-z0-9+.-]*:\/\/)([^@/?#]*)@(.*)$/i.exec(part);
    if (!match) {
      servers.push(part);
      continue;
    }
    const [, scheme, info, rest] = match as unknown as [string, string, string, string];
    servers.push(`${scheme}${rest}`);
    if (auth.user !== undefined || auth.token !== undefined) continue;
    const colon = info.indexOf(':');
    if (colon >= 0) {
      auth.user = decodeURIComponent(info.slice(0, colon));
      auth.pass = decodeURIComponent(info.slice(colon + 1));
    } else if (info !== '') auth.token = decodeURIComponent(info);
  }
  return { servers, ...auth };
}

const isStreamNotFound = (error: unknown): boolean => (error as NatsError).api_error?.err_code === 10059 || /stream not found/i.test((error as Error).message);

export class NatsSink implements EventSink {
  readonly #config: NatsSinkConfig;
  readonly #url: string;
  readonly #timeoutMs: number;
  readonly #connection: LazyConnection<Connected>;

  constructor(config: NatsSinkConfig, options: BrokerSinkOptions = {}) {
    this.#config = config;
    this.#url = maskUrl(config.url, true);
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_BROKER_TIMEOUT_MS;
    this.#connection = new LazyConnection(() => this.#open(), (c) => !c.nc.isClosed(), (c) => c.nc.close());
  }

  async deliver(messages: readonly EventMessage[]): Promise<void> {
    if (this.#connection.closed) throw new Error(`nats sink (${this.#url}): closed`);
    if (messages.length === 0) return;
    const { js } = await this.#connection.get();
    const stream = this.#config.stream;
    try {
      for (const message of messages) {
        const h = headers();
        h.set('Ecron-Seq', String(message.seq));
        h.set('Ecron-Type', message.type);
        h.set('Content-Type', 'application/json');
        await js.publish(withType(this.#config.subject, message.type), message.body, {
          msgID: message.id,
          headers: h,
          timeout: this.#timeoutMs,
          ...(stream === undefined ? {} : { expect: { streamName: stream } }),
        });
      }
    } catch (error) {
      await this.#connection.drop();
      const what = (error as NatsError).code === '503' ? `no stream captures the subject ${this.#config.subject}` : 'a publish was not acknowledged';
      throw brokerError('nats', this.#url, what, error);
    }
  }

  close(): Promise<void> {
    return this.#connection.close();
  }

  async #open(): Promise<Connected> {
    let nc: NatsConnection;
    try {
      nc = await connect({ ...connectOptions(this.#config.url), reconnect: false, timeout: this.#timeoutMs, name: 'ecron-event-sink' });
    } catch (error) {
      throw brokerError('nats', this.#url, 'cannot connect', error);
    }
    try {
      if (this.#config.stream !== undefined) await within(this.#ensureStream(nc, this.#config.stream), this.#timeoutMs, 'timed out');
      return { nc, js: nc.jetstream({ timeout: this.#timeoutMs }) };
    } catch (error) {
      await nc.close().catch(() => {});
      throw brokerError('nats', this.#url, `cannot check or create stream ${this.#config.stream}`, error);
    }
  }

  async #ensureStream(nc: NatsConnection, name: string): Promise<void> {
    const jsm = await nc.jetstreamManager({ timeout: this.#timeoutMs });
    try {
      await jsm.streams.info(name);
    } catch (error) {
      if (!isStreamNotFound(error)) throw error;
      await jsm.streams.add({ name, subjects: natsStreamSubjects(this.#config.subject) });
    }
  }
}
