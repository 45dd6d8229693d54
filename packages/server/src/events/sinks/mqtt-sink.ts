/**
 * A sink publishing to an MQTT broker (issue 18), over MQTT 5 at QoS 1: each event is one message
 * on `topic` (`{type}` replaced by the event's type) whose payload is the event's JSON, with the
 * user properties `id` (the message's id), `seq` and `type`, and content type `application/json`.
 * `deliver` resolves once a PUBACK came for every one.
 *
 * The batch goes out on one connection, at most the broker's Receive Maximum unacknowledged at a
 * time; the broker forwards one connection's messages in order. QoS 1 is at least once: a message
 * may arrive twice (a batch sent again after a crash, or the broker's own redelivery), with the
 * same `id`, which subscribers dedupe by.
 *
 * The client does not reconnect on its own (it would resend unacknowledged messages on the new
 * connection behind later ones): after a failure the sink ends it and the next `deliver` connects
 * again, with a clean session.
 */
import { randomUUID } from 'node:crypto';
import { connect, type IConnackPacket, type MqttClient } from 'mqtt';
import type { EventMessage, EventSink } from './sink.ts';
import { brokerError, DEFAULT_BROKER_TIMEOUT_MS, LazyConnection, maskUrl, within, withType, type BrokerSinkOptions } from './broker-common.ts';

export interface MqttSinkConfig {
  /** `mqtt://[user:password@]host:port`, `mqtts://…`, `ws://…` or `wss://…`. */
  url: string;
  /** `{type}` is replaced by the event's type. */
  topic: string;
  /** @default `ecron-sink-<random>` */
  clientId?: string | undefined;
}

/** Unacknowledged publishes at a time when the broker does not say (MQTT 5 Receive Maximum). */
const DEFAULT_IN_FLIGHT = 20;

interface Connected {
  client: MqttClient;
  inFlight: number;
  lost: Error | null;
  /** Rejects with {@link lost} once the connection is gone. */
  gone: Promise<never>;
}

export class MqttSink implements EventSink {
  readonly #config: MqttSinkConfig;
  readonly #url: string;
  readonly #timeoutMs: number;
  readonly #connection: LazyConnection<Connected>;

  constructor(config: MqttSinkConfig, options: BrokerSinkOptions = {}) {
    this.#config = config;
    this.#url = maskUrl(config.url);
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_BROKER_TIMEOUT_MS;
    this.#connection = new LazyConnection(() => this.#open(), (c) => c.lost === null && c.client.connected, (c) => new Promise<void>((resolve) => {
      c.client.end(true, {}, () => resolve());
    }));
  }

  async deliver(messages: readonly EventMessage[]): Promise<void> {
    if (this.#connection.closed) throw new Error(`mqtt sink (${this.#url}): closed`);
    if (messages.length === 0) return;
    const connected = await this.#connection.get();
    try {
      await within(Promise.race([this.#publish(connected, messages), connected.gone]), this.#timeoutMs, `no PUBACK within ${this.#timeoutMs} ms`);
    } catch (error) {
      await this.#connection.drop();
      throw brokerError('mqtt', this.#url, `publishing to ${this.#config.topic} failed`, connected.lost ?? error);
    }
  }

  close(): Promise<void> {
    return this.#connection.close();
  }

  async #publish({ client, inFlight }: Connected, messages: readonly EventMessage[]): Promise<void> {
    const acks: Promise<unknown>[] = [];
    for (const [i, m] of messages.entries()) {
      if (i >= inFlight) await acks[i - inFlight];
      const ack = client.publishAsync(withType(this.#config.topic, m.type), m.body, {
        qos: 1,
        properties: {
          contentType: 'application/json',
          payloadFormatIndicator: true,
          userProperties: { id: m.id, seq: String(m.seq), type: m.type },
        },
      });
      ack.catch(() => {}); // awaited below; a batch cut short must not leave it unhandled
      acks.push(ack);
    }
    await Promise.all(acks);
  }

  async #open(): Promise<Connected> {
    const client = connect(this.#config.url, {
      protocolVersion: 5,
      clientId: this.#config.clientId ?? `ecron-sink-${randomUUID()}`,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: this.#timeoutMs,
    });
    let connack: IConnackPacket;
    let refused: (error: Error) => void = () => {};
    const closed = (): void => refused(new Error('the connection closed'));
    try {
      connack = await within(new Promise<IConnackPacket>((resolve, reject) => {
        refused = reject;
        client.once('connect', resolve);
        client.on('error', refused);
        client.on('close', closed);
      }), this.#timeoutMs, `no connection within ${this.#timeoutMs} ms`);
    } catch (error) {
      client.on('error', () => {});
      client.end(true);
      throw brokerError('mqtt', this.#url, 'cannot connect', error);
    } finally {
      client.off('error', refused);
      client.off('close', closed);
    }
    let fail: (error: Error) => void = () => {};
    const gone = new Promise<never>((_resolve, reject) => {
      fail = reject;
    });
    gone.catch(() => {});
    const receiveMaximum = connack.properties?.receiveMaximum;
    const connected: Connected = { client, inFlight: receiveMaximum && receiveMaximum > 0 ? Math.min(receiveMaximum, 1000) : DEFAULT_IN_FLIGHT, lost: null, gone };
    const lose = (error: Error): void => {
      if (connected.lost) return;
      connected.lost = error;
      fail(error);
    };
    client.on('error', lose);
    client.on('close', () => lose(new Error('the connection closed')));
    client.on('disconnect', (packet) => lose(new Error(`the broker disconnected the client (reason ${packet.reasonCode ?? 'unknown'})`)));
    return connected;
  }
}
