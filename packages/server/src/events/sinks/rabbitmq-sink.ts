/**
 * A sink publishing to a RabbitMQ exchange (issue 18), on a confirm channel: each event is one
 * persistent message (`messageId` = the message's id, `type` = the event's type, `contentType`
 * `application/json`, header `ecron-seq`), routed by `routingKey` (`{type}` replaced by the event's
 * type), and `deliver` resolves once the broker confirmed every one. The exchange is declared
 * durable (of `exchangeType`) on each connection.
 *
 * RabbitMQ has no deduplication: a batch sent again after a crash before the cursor moved reaches
 * the queues again, with the same `messageId`, which consumers dedupe by. A message that no queue
 * is bound for is dropped by the broker (and still confirmed): bind the queues first.
 *
 * After a failure (a nack, the channel or connection closed, a timeout) the sink closes the
 * connection and the next `deliver` opens another.
 */
import { once } from 'node:events';
import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { EventMessage, EventSink } from './sink.ts';
import { brokerError, DEFAULT_BROKER_TIMEOUT_MS, LazyConnection, maskUrl, within, withType, type BrokerSinkOptions } from './broker-common.ts';

export interface RabbitMqSinkConfig {
  /** `amqp://user:password@host:port/vhost` or `amqps://…`. */
  url: string;
  exchange: string;
  /** `{type}` is replaced by the event's type. */
  routingKey: string;
  /** @default 'topic' */
  exchangeType?: 'topic' | 'direct' | 'fanout' | 'headers' | undefined;
}

interface Connected {
  model: ChannelModel;
  channel: ConfirmChannel;
  /** Why the channel or connection closed, once it did. */
  readonly lost: Error | null;
  /** Rejects with {@link lost} when it is set. */
  gone: Promise<never>;
}

export class RabbitMqSink implements EventSink {
  readonly #config: RabbitMqSinkConfig;
  readonly #url: string;
  readonly #timeoutMs: number;
  readonly #connection: LazyConnection<Connected>;

  constructor(config: RabbitMqSinkConfig, options: BrokerSinkOptions = {}) {
    this.#config = config;
    this.#url = maskUrl(config.url);
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_BROKER_TIMEOUT_MS;
    this.#connection = new LazyConnection(() => this.#open(), (c) => c.lost === null, (c) => c.model.close());
  }

  async deliver(messages: readonly EventMessage[]): Promise<void> {
    if (this.#connection.closed) throw new Error(`rabbitmq sink (${this.#url}): closed`);
    if (messages.length === 0) return;
    const connected = await this.#connection.get();
    try {
      await within(this.#publish(connected, messages), this.#timeoutMs, `not confirmed within ${this.#timeoutMs} ms`);
    } catch (error) {
      await this.#connection.drop();
      throw brokerError('rabbitmq', this.#url, `publishing to exchange ${this.#config.exchange} failed`, connected.lost ?? error);
    }
  }

  close(): Promise<void> {
    return this.#connection.close();
  }

  async #publish(connected: Connected, messages: readonly EventMessage[]): Promise<void> {
    const { channel } = connected;
    const confirms: Promise<void>[] = [];
    const lost = connected.gone;
    for (const m of messages) {
      if (connected.lost) throw connected.lost;
      let written = true;
      const confirmed = new Promise<void>((resolve, reject) => {
        written = channel.publish(this.#config.exchange, withType(this.#config.routingKey, m.type), Buffer.from(m.body), {
          persistent: true,
          messageId: m.id,
          type: m.type,
          contentType: 'application/json',
          headers: { 'ecron-seq': m.seq },
        }, (error: unknown) => (error ? reject(error instanceof Error ? error : new Error(`nacked: ${String(error)}`)) : resolve()));
      });
      confirmed.catch(() => {}); // a batch cut short rejects through the loss, not through each confirm
      confirms.push(confirmed);
      if (!written) await Promise.race([once(channel, 'drain'), lost]);
    }
    await Promise.race([Promise.all(confirms), lost]);
  }

  async #open(): Promise<Connected> {
    let model: ChannelModel;
    try {
      model = await within(connect(this.#config.url, { timeout: this.#timeoutMs }), this.#timeoutMs, `no connection within ${this.#timeoutMs} ms`);
    } catch (error) {
      throw brokerError('rabbitmq', this.#url, 'cannot connect', error);
    }
    let fail: (error: Error) => void = () => {};
    const gone = new Promise<never>((_resolve, reject) => {
      fail = reject;
    });
    gone.catch(() => {});
    let lost: Error | null = null;
    const lose = (why: string) => (error?: Error): void => {
      if (lost) return;
      lost = error ?? new Error(why);
      fail(lost);
    };
    model.on('error', lose('the connection failed'));
    model.on('close', lose('the connection closed'));
    try {
      const channel = await model.createConfirmChannel();
      channel.on('error', lose('the channel failed'));
      channel.on('close', lose('the channel closed'));
      const connected: Connected = {
        model,
        channel,
        gone,
        get lost() {
          return lost;
        },
      };
      await channel.assertExchange(this.#config.exchange, this.#config.exchangeType ?? 'topic', { durable: true });
      return connected;
    } catch (error) {
      await model.close().catch(() => {});
      throw brokerError('rabbitmq', this.#url, `cannot declare exchange ${this.#config.exchange}`, error);
    }
  }
}
