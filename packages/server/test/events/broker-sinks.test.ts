/**
 * The broker sinks of event subscriptions (`events/sinks/`) against the machine's real brokers:
 * NATS JetStream (127.0.0.1:4222), Redis (:6379), RabbitMQ (:5672, guest/guest), Mosquitto
 * (:1883). Each sink delivers batches that a real consumer reads back in order with their ids; a
 * batch delivered again (a crash before the cursor moved) is stored once (NATS, Redis) or reaches
 * the consumer again with the same id (RabbitMQ, MQTT); an unreachable broker makes `deliver`
 * reject, and a connection closed from outside is replaced by the next `deliver`.
 *
 * These tests never skip: a broker that cannot be reached fails them with a message naming it.
 * ECRON_TEST_NATS_URL, ECRON_TEST_REDIS_URL, ECRON_TEST_AMQP_URL and ECRON_TEST_MQTT_URL point
 * them elsewhere. Every test uses names of its own (random suffix) and removes them.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { connect as natsConnect, type NatsConnection } from 'nats';
import { Redis } from 'ioredis';
import { connect as amqpConnect, type ConsumeMessage } from 'amqplib';
import { connect as mqttConnect, type IPublishPacket, type MqttClient } from 'mqtt';
import { BrokerConfigSchemas, createBrokerSink, maskBrokerConfig } from '../../src/events/sinks/brokers.ts';
import { redisSinkClientName } from '../../src/events/sinks/redis-sink.ts';
import type { EventMessage, EventSink } from '../../src/events/sinks/sink.ts';

const NATS_URL = process.env.ECRON_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const REDIS_URL = process.env.ECRON_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const AMQP_URL = process.env.ECRON_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const MQTT_URL = process.env.ECRON_TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';
/** A port nothing listens on. */
const DEAD = '127.0.0.1:1';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
});

const suffix = (): string => randomBytes(5).toString('hex');

/** Runs `fn`, telling which broker was unreachable when connecting to it fails. */
async function reaching<T>(broker: string, url: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    const code = String((error as { code?: unknown }).code ?? '');
    const message = (error as Error).message ?? '';
    if (!/ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EHOSTUNREACH|CONNECTION_REFUSED/.test(`${code} ${message}`)) throw error;
    throw new Error(`the ${broker} broker at ${url} is unreachable (CI=${process.env.CI ?? 'unset'}); these tests need it running: ${message}`, { cause: error });
  }
}

/** A sink closed after the test. */
function sink(...args: Parameters<typeof createBrokerSink>): EventSink {
  const s = createBrokerSink(...args);
  cleanup.push(() => s.close());
  return s;
}

const TYPES = ['run.fired', 'run.succeeded', 'workflow.node.failed', 'task.created'];

/** Events `from`..`to` of subscription `sub`, as the deliverer hands them over. */
function batch(sub: string, from: number, to: number): EventMessage[] {
  const out: EventMessage[] = [];
  for (let seq = from; seq <= to; seq++) {
    const type = TYPES[seq % TYPES.length]!;
    out.push({ seq, id: `${sub}:${seq}`, type, body: JSON.stringify({ seq, type, at: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(), namespace: 'default', runId: `r${seq}` }) });
  }
  return out;
}

/** What a consumer keeps after deduplicating by id: the first of each. */
const dedupe = <T>(items: T[], id: (item: T) => string): T[] => {
  const seen = new Set<string>();
  return items.filter((item) => !seen.has(id(item)) && seen.add(id(item)));
};

describe('broker configurations', () => {
  it('are strict, fill defaults, and mask the credentials of URLs', () => {
    expect(BrokerConfigSchemas.rabbitmq.parse({ url: 'amqp://h', exchange: 'x', routingKey: 'e.{type}' }).exchangeType).toBe('topic');
    expect(BrokerConfigSchemas.redis.safeParse({ url: 'redis://h', stream: 's', extra: 1 }).success).toBe(false);
    expect(BrokerConfigSchemas.nats.safeParse({ url: 'nats://h', subject: 'a.*' }).success).toBe(false);
    expect(BrokerConfigSchemas.nats.safeParse({ url: 'nats://h', subject: 'a.{type}.b', stream: 'S' }).success).toBe(false);
    expect(BrokerConfigSchemas.nats.safeParse({ url: 'nats://a:1, nats://b:2', subject: 'a.{type}', stream: 'S' }).success).toBe(true);
    expect(BrokerConfigSchemas.mqtt.safeParse({ url: 'mqtt://h', topic: 'a/#' }).success).toBe(false);
    expect(BrokerConfigSchemas.redis.safeParse({ url: 'http://h', stream: 's' }).success).toBe(false);

    expect(maskBrokerConfig('rabbitmq', { url: 'amqp://guest:s3cret@h:5672/v', exchange: 'x', routingKey: 'k', exchangeType: 'topic' }).url).toBe('amqp://guest:***@h:5672/v');
    expect(maskBrokerConfig('redis', { url: 'redis://:pw@h:6379/2', stream: 's' }).url).toBe('redis://:***@h:6379/2');
    expect(maskBrokerConfig('redis', { url: 'redis://pw@h?password=x', stream: 's' }).url).toBe('redis://***@h?password=***');
    expect(maskBrokerConfig('nats', { url: 'nats://tok@a:1,nats://u:p@b:2', subject: 's' }).url).toBe('nats://***@a:1,nats://u:***@b:2');
    expect(maskBrokerConfig('mqtt', { url: 'mqtt://user@h', topic: 't' }).url).toBe('mqtt://user@h');
    expect(maskBrokerConfig('mqtt', { url: 'mqtt://h:1883', topic: 't' }).url).toBe('mqtt://h:1883');
  });
});

describe('NATS JetStream sink', () => {
  async function nats(): Promise<NatsConnection> {
    const nc = await reaching('NATS', NATS_URL, () => natsConnect({ servers: NATS_URL }));
    cleanup.push(() => nc.close());
    return nc;
  }

  async function stored(nc: NatsConnection, stream: string): Promise<{ subject: string; id: string | undefined; seq: string | undefined; body: string }[]> {
    const jsm = await nc.jetstreamManager();
    const { state } = await jsm.streams.info(stream);
    const out = [];
    for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(stream, { seq });
      out.push({ subject: m.subject, id: m.header.get('Nats-Msg-Id'), seq: m.header.get('Ecron-Seq'), body: m.string() });
    }
    return out;
  }

  it('creates the stream, publishes in order with Nats-Msg-Id, and stores a redelivered batch once', async () => {
    const nc = await nats();
    const id = suffix();
    const stream = `ECRON_T_${id}`;
    cleanup.push(async () => (await nc.jetstreamManager()).streams.delete(stream));
    const s = sink('nats', { url: NATS_URL, subject: `ecront.${id}.{type}`, stream });
    const sub = `sub${id}`;
    await s.deliver(batch(sub, 1, 3));
    await s.deliver(batch(sub, 4, 6));
    await s.deliver(batch(sub, 4, 8)); // a crash before the cursor moved past 6
    await s.deliver([]);

    const messages = await stored(nc, stream);
    const expected = batch(sub, 1, 8);
    expect(messages).toEqual(expected.map((m) => ({ subject: `ecront.${id}.${m.type}`, id: m.id, seq: String(m.seq), body: m.body })));
    const info = await (await nc.jetstreamManager()).streams.info(stream);
    expect(info.config.subjects).toEqual([`ecront.${id}.>`]);
  });

  it('rejects when no stream captures the subject, and recreates a deleted stream on the next deliver', async () => {
    const nc = await nats();
    const id = suffix();
    const orphan = sink('nats', { url: NATS_URL, subject: `ecront.${id}.nostream.{type}` });
    await expect(orphan.deliver(batch('s', 1, 1))).rejects.toThrow(/nats sink \(nats:\/\/127\.0\.0\.1:4222\): no stream captures the subject/);

    const stream = `ECRON_T_${id}`;
    const jsm = await nc.jetstreamManager();
    cleanup.push(() => jsm.streams.delete(stream));
    const s = sink('nats', { url: NATS_URL, subject: `ecront.${id}.{type}`, stream });
    await s.deliver(batch('s', 1, 2));
    await jsm.streams.delete(stream);
    await expect(s.deliver(batch('s', 3, 4))).rejects.toThrow(/nats sink/);
    await s.deliver(batch('s', 3, 4)); // a new connection, which creates the stream again
    expect((await stored(nc, stream)).map((m) => m.id)).toEqual(['s:3', 's:4']);
  });

  it('rejects with a clear error when the server is unreachable, and after close', async () => {
    const s = sink('nats', { url: `nats://user:pw@${DEAD}`, subject: 'ecront.{type}' }, { timeoutMs: 2000 });
    await expect(s.deliver(batch('s', 1, 1))).rejects.toThrow(/^nats sink \(nats:\/\/user:\*\*\*@127\.0\.0\.1:1\): cannot connect: /);
    await s.close();
    await s.close();
    await expect(s.deliver(batch('s', 1, 1))).rejects.toThrow(/closed/);
  });
});

describe('Redis stream sink', () => {
  async function redis(): Promise<Redis> {
    const r = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
    r.on('error', () => {});
    await reaching('Redis', REDIS_URL, () => r.connect());
    cleanup.push(async () => r.disconnect());
    return r;
  }

  const entries = async (r: Redis, key: string) => (await r.xrange(key, '-', '+')).map(([entryId, fields]) => ({ entryId, ...Object.fromEntries(fields.flatMap((_v, i) => (i % 2 === 0 ? [[fields[i], fields[i + 1]]] : []))) }));

  it('adds each event under <seq>-0 in order, and a redelivered batch once', async () => {
    const r = await redis();
    const key = `ecront:events:${suffix()}`;
    cleanup.push(() => r.del(key));
    const s = sink('redis', { url: REDIS_URL, stream: key, maxLen: 1000 });
    await s.deliver(batch('sub', 1, 3));
    await s.deliver(batch('sub', 4, 6));
    await s.deliver(batch('sub', 4, 8)); // redelivered from 4: 4..6 are refused as already there
    await s.deliver(batch('sub', 2, 3)); // all of it already there
    expect(await entries(r, key)).toEqual(batch('sub', 1, 8).map((m) => ({ entryId: `${m.seq}-0`, seq: String(m.seq), id: m.id, type: m.type, body: m.body })));
  });

  it('refuses a stream that another writer went past', async () => {
    const r = await redis();
    const key = `ecront:events:${suffix()}`;
    cleanup.push(() => r.del(key));
    await r.xadd(key, '100-0', 'id', 'other:100');
    const s = sink('redis', { url: REDIS_URL, stream: key });
    await expect(s.deliver(batch('sub', 5, 6))).rejects.toThrow(/already holds entries past seq 5 that this subscription did not write/);
  });

  it('reconnects on the next deliver after its connection was killed', async () => {
    const r = await redis();
    const key = `ecront:events:${suffix()}`;
    cleanup.push(() => r.del(key));
    const s = sink('redis', { url: REDIS_URL, stream: key });
    await s.deliver(batch('sub', 1, 2));
    const name = redisSinkClientName(key);
    const clients = String(await r.client('LIST')).split('\n').filter((line) => line.includes(` name=${name} `));
    expect(clients).toHaveLength(1);
    const clientId = /(?:^|\s)id=(\d+)/.exec(clients[0]!)![1]!;
    expect(await r.client('KILL', 'ID', clientId)).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await s.deliver(batch('sub', 3, 4));
    expect((await entries(r, key)).map((e) => e.entryId)).toEqual(['1-0', '2-0', '3-0', '4-0']);
  });

  it('rejects with a clear error when the server is unreachable', async () => {
    const s = sink('redis', { url: `redis://:pw@${DEAD}`, stream: 'x' }, { timeoutMs: 2000 });
    await expect(s.deliver(batch('s', 1, 1))).rejects.toThrow(/^redis sink \(redis:\/\/:\*\*\*@127\.0\.0\.1:1\): cannot connect: .*ECONNREFUSED/);
  });
});

describe('RabbitMQ sink', () => {
  /** A connection, the exchange declared as the sink does, and a queue bound to `pattern` collecting what arrives. */
  async function consumer(exchange: string, pattern: string): Promise<{ received: ConsumeMessage[]; rebind: () => Promise<void>; deleteExchange: () => Promise<void> }> {
    const conn = await reaching('RabbitMQ', AMQP_URL, () => amqpConnect(AMQP_URL));
    cleanup.push(() => conn.close());
    const channel = await conn.createChannel();
    cleanup.push(() => channel.deleteExchange(exchange));
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
    const rebind = async (): Promise<void> => {
      await channel.assertExchange(exchange, 'topic', { durable: true });
      await channel.bindQueue(queue, exchange, pattern);
    };
    await rebind();
    const received: ConsumeMessage[] = [];
    await channel.consume(queue, (m) => {
      if (m) received.push(m);
    }, { noAck: true });
    return { received, rebind, deleteExchange: async () => void await channel.deleteExchange(exchange) };
  }

  it('publishes persistent messages in order with messageId, confirmed; a redelivered batch arrives again with the same ids', async () => {
    const id = suffix();
    const exchange = `ecront.${id}`;
    const { received } = await consumer(exchange, 'events.#');
    const s = sink('rabbitmq', { url: AMQP_URL, exchange, routingKey: 'events.{type}' });
    await s.deliver(batch('sub', 1, 3));
    await s.deliver(batch('sub', 4, 6));
    await s.deliver(batch('sub', 4, 7)); // a crash before the cursor moved past 6
    await expect.poll(() => received.length).toBe(10);

    const seen = received.map((m) => ({ routingKey: m.fields.routingKey, id: m.properties.messageId as string, type: m.properties.type, contentType: m.properties.contentType, persistent: m.properties.deliveryMode, seq: m.properties.headers?.['ecron-seq'], body: m.content.toString() }));
    const expected = (m: EventMessage) => ({ routingKey: `events.${m.type}`, id: m.id, type: m.type, contentType: 'application/json', persistent: 2, seq: m.seq, body: m.body });
    expect(seen).toEqual([...batch('sub', 1, 6), ...batch('sub', 4, 7)].map(expected));
    expect(dedupe(seen, (m) => m.id)).toEqual(batch('sub', 1, 7).map(expected));
  });

  it('opens a new channel on the next deliver after the broker closed it', async () => {
    const id = suffix();
    const exchange = `ecront.${id}`;
    const { received, rebind, deleteExchange } = await consumer(exchange, 'events.#');
    const s = sink('rabbitmq', { url: AMQP_URL, exchange, routingKey: 'events.{type}' });
    await s.deliver(batch('sub', 1, 2));
    await deleteExchange(); // publishing to it now makes the broker close the sink's channel (404)
    await expect(s.deliver(batch('sub', 3, 4))).rejects.toThrow(/rabbitmq sink \(amqp:\/\/guest:\*\*\*@127\.0\.0\.1:5672\): publishing to exchange .* failed: .*NOT_FOUND/);
    await rebind();
    await s.deliver(batch('sub', 3, 4)); // a new connection declares the exchange again
    await expect.poll(() => received.map((m) => m.properties.messageId)).toEqual(['sub:1', 'sub:2', 'sub:3', 'sub:4']);
  });

  it('rejects with a clear error when the broker is unreachable', async () => {
    const s = sink('rabbitmq', { url: `amqp://guest:guest@${DEAD}`, exchange: 'x', routingKey: 'k' }, { timeoutMs: 2000 });
    await expect(s.deliver(batch('s', 1, 1))).rejects.toThrow(/^rabbitmq sink \(amqp:\/\/guest:\*\*\*@127\.0\.0\.1:1\): cannot connect: .*ECONNREFUSED/);
  });
});

describe('MQTT sink', () => {
  /** An MQTT 5 subscriber at QoS 1 on `filter`, collecting what arrives. */
  async function subscriber(filter: string): Promise<IPublishPacket[]> {
    const client: MqttClient = await reaching('MQTT', MQTT_URL, () => new Promise<MqttClient>((resolve, reject) => {
      const c = mqttConnect(MQTT_URL, { protocolVersion: 5, reconnectPeriod: 0, clientId: `ecront-sub-${suffix()}` });
      c.once('connect', () => resolve(c));
      c.once('error', (error) => {
        c.end(true);
        reject(error);
      });
    }));
    cleanup.push(() => client.endAsync(true));
    const received: IPublishPacket[] = [];
    client.on('message', (_topic, _payload, packet) => received.push(packet));
    await client.subscribeAsync(filter, { qos: 1 });
    return received;
  }

  const seen = (packets: IPublishPacket[]) => packets.map((p) => ({ topic: p.topic, qos: p.qos, id: p.properties?.userProperties?.['id'], seq: p.properties?.userProperties?.['seq'], body: p.payload.toString() }));
  const expected = (prefix: string) => (m: EventMessage) => ({ topic: `${prefix}/${m.type}`, qos: 1, id: m.id, seq: String(m.seq), body: m.body });

  it('publishes at QoS 1 in order with the id as a user property; a redelivered batch arrives again with the same ids', async () => {
    const prefix = `ecront/${suffix()}`;
    const received = await subscriber(`${prefix}/#`);
    const s = sink('mqtt', { url: MQTT_URL, topic: `${prefix}/{type}` });
    await s.deliver(batch('sub', 1, 3));
    await s.deliver(batch('sub', 4, 30)); // more than a small Receive Maximum
    await s.deliver(batch('sub', 28, 31)); // a crash before the cursor moved past 30
    await expect.poll(() => received.length).toBe(34);
    expect(seen(received)).toEqual([...batch('sub', 1, 30), ...batch('sub', 28, 31)].map(expected(prefix)));
    expect(dedupe(seen(received), (m) => String(m.id))).toEqual(batch('sub', 1, 31).map(expected(prefix)));
  });

  it('reconnects on the next deliver after the broker dropped its connection', async () => {
    const prefix = `ecront/${suffix()}`;
    const received = await subscriber(`${prefix}/#`);
    const clientId = `ecront-sink-${suffix()}`;
    const s = sink('mqtt', { url: MQTT_URL, topic: `${prefix}/{type}`, clientId });
    await s.deliver(batch('sub', 1, 2));
    // A second client with the same id: the broker disconnects the sink's connection.
    const intruder = mqttConnect(MQTT_URL, { protocolVersion: 5, reconnectPeriod: 0, clientId });
    cleanup.push(() => intruder.endAsync(true));
    await new Promise((resolve) => intruder.once('connect', resolve));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await s.deliver(batch('sub', 3, 4));
    await expect.poll(() => received.map((p) => p.properties?.userProperties?.['id'])).toEqual(['sub:1', 'sub:2', 'sub:3', 'sub:4']);
  });

  it('rejects with a clear error when the broker is unreachable', async () => {
    const s = sink('mqtt', { url: `mqtt://u:pw@${DEAD}`, topic: 't/{type}' }, { timeoutMs: 2000 });
    await expect(s.deliver(batch('s', 1, 1))).rejects.toThrow(/^mqtt sink \(mqtt:\/\/u:\*\*\*@127\.0\.0\.1:1\): cannot connect: .*ECONNREFUSED/);
  });
});
