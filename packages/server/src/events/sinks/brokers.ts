/**
 * The broker sinks of event subscriptions (issue 18): the configuration of each broker, a sink
 * from a configuration, and the configuration as a reader may see it (credentials masked).
 * docs/observability.md "### Brokers" says what each publishes and how a consumer dedupes.
 */
import { z } from 'zod';
import type { EventMessage, EventSink } from './sink.ts';
import { maskUrl, natsStreamSubjects, type BrokerSinkOptions } from './broker-common.ts';

export { BROKER_SECRET_MASK } from './broker-common.ts';

export const BROKER_TYPES = ['nats', 'redis', 'rabbitmq', 'mqtt'] as const;
export type BrokerType = (typeof BROKER_TYPES)[number];

const url = (schemes: readonly string[]) => {
  const pattern = new RegExp(`^(${schemes.join('|')})://[^\\s]+$`, 'i');
  return z.string().max(2048).regex(pattern, `expected a ${schemes.map((s) => `${s}://`).join(' or ')} URL`);
};

/** A NATS subject to publish to: tokens separated by dots, no wildcard, `{type}` allowed. */
const natsSubject = z.string().min(1).max(255)
  .regex(/^[^\s.*>]+(\.[^\s.*>]+)*$/, 'expected a NATS subject: tokens separated by ".", without spaces or wildcards ("*", ">")');

/** An MQTT topic to publish to: no wildcard, not empty; `{type}` allowed. */
const mqttTopic = z.string().min(1).max(1024).regex(/^[^+#]+$/, 'expected an MQTT topic without wildcards ("+", "#")');

const NatsConfigSchema = z.strictObject({
  /** One server URL or several, comma-separated; credentials may be in the first. */
  url: z.string().max(2048).regex(/^\s*(nats|tls|wss?):\/\/[^\s,]+(\s*,\s*(nats|tls|wss?):\/\/[^\s,]+)*\s*$/i, 'expected nats:// URLs, separated by commas'),
  subject: natsSubject,
  /** Created when missing (subjects: the subject, a last `{type}` token as ">"); publishes must land in it. */
  stream: z.string().regex(/^[^\s.*>/\\]{1,255}$/, 'expected a stream name: no spaces, ".", "*", ">", "/" or "\\"').optional(),
}).superRefine((config, ctx) => {
  if (config.stream === undefined) return;
  try {
    natsStreamSubjects(config.subject);
  } catch (error) {
    ctx.addIssue({ code: 'custom', path: ['subject'], message: (error as Error).message });
  }
});

const RedisConfigSchema = z.strictObject({
  url: url(['redis', 'rediss']),
  /** The stream's key; one subscription's alone (entry ids are `<seq>-0`). */
  stream: z.string().min(1).max(1024),
  maxLen: z.number().int().positive().optional(),
});

const RabbitMqConfigSchema = z.strictObject({
  url: url(['amqp', 'amqps']),
  /** Declared durable; not the default exchange (""). */
  exchange: z.string().min(1).max(255),
  routingKey: z.string().max(255),
  exchangeType: z.enum(['topic', 'direct', 'fanout', 'headers']).default('topic'),
});

const MqttConfigSchema = z.strictObject({
  url: url(['mqtt', 'mqtts', 'tcp', 'ssl', 'ws', 'wss']),
  topic: mqttTopic,
  clientId: z.string().min(1).max(256).optional(),
});

/** The configuration of each broker sink, by type. */
export const BrokerConfigSchemas = {
  nats: NatsConfigSchema,
  redis: RedisConfigSchema,
  rabbitmq: RabbitMqConfigSchema,
  mqtt: MqttConfigSchema,
} as const satisfies Record<BrokerType, z.ZodType>;

export type BrokerConfigs = { [T in BrokerType]: z.output<(typeof BrokerConfigSchemas)[T]> };
export type BrokerConfigInputs = { [T in BrokerType]: z.input<(typeof BrokerConfigSchemas)[T]> };

/**
 * A sink for `config`, checked against its schema (throws a ZodError when it does not fit), so a
 * configuration read back from the store may be passed as it is.
 */
export function createBrokerSink<T extends BrokerType>(type: T, config: BrokerConfigInputs[T], options?: BrokerSinkOptions): EventSink;
export function createBrokerSink(type: BrokerType, config: unknown, options?: BrokerSinkOptions): EventSink;
export function createBrokerSink(type: BrokerType, config: unknown, options: BrokerSinkOptions = {}): EventSink {
  // Each broker's client library is loaded with the first sink of its kind (a server with no
  // broker subscription never loads them: ioredis alone is ~9 MiB of resident memory).
  switch (type) {
    case 'nats': {
      const parsed = NatsConfigSchema.parse(config);
      return new LazySink(async () => new (await import('./nats-sink.ts')).NatsSink(parsed, options));
    }
    case 'redis': {
      const parsed = RedisConfigSchema.parse(config);
      return new LazySink(async () => new (await import('./redis-sink.ts')).RedisSink(parsed, options));
    }
    case 'rabbitmq': {
      const parsed = RabbitMqConfigSchema.parse(config);
      return new LazySink(async () => new (await import('./rabbitmq-sink.ts')).RabbitMqSink(parsed, options));
    }
    case 'mqtt': {
      const parsed = MqttConfigSchema.parse(config);
      return new LazySink(async () => new (await import('./mqtt-sink.ts')).MqttSink(parsed, options));
    }
    default: throw new Error(`unknown broker type ${String(type)}`);
  }
}

/** A sink made at its first delivery (its module loaded then). */
class LazySink implements EventSink {
  readonly #make: () => Promise<EventSink>;
  #sink: Promise<EventSink> | null = null;
  #closed = false;

  constructor(make: () => Promise<EventSink>) {
    this.#make = make;
  }

  async deliver(messages: readonly EventMessage[]): Promise<void> {
    if (this.#closed) throw new Error('the sink is closed');
    this.#sink ??= this.#make().catch((error: unknown) => {
      this.#sink = null;
      throw error;
    });
    await (await this.#sink).deliver(messages);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#sink) await (await this.#sink.catch(() => null))?.close();
  }
}

/**
 * `config` with the credentials of its URL masked (`amqp://user:***@host`): what a reader of the
 * subscription sees. A NATS or Redis URL's lone user (a token, a password) is masked as well.
 */
export function maskBrokerConfig<T extends BrokerType>(type: T, config: BrokerConfigs[T]): BrokerConfigs[T] {
  return { ...config, url: maskUrl(config.url, type === 'nats' || type === 'redis') };
}
