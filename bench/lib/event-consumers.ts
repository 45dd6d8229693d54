/**
 * The receivers of event subscriptions in bench/events-chaos.ts, each tallying what it got
 * (event-tally.ts), and the restarts of the machine's brokers:
 * - a webhook receiver (node:http) that answers 500 to a seeded share of the requests;
 * - a Redis Streams consumer reading continuously (XREAD BLOCK), which remembers each drop of its
 *   connection: the last seq it had read, and the first it read afterwards;
 * - a RabbitMQ consumer of a durable queue bound to the exchange (manual acks, reconnecting);
 * - an MQTT 5 subscriber at QoS 1;
 * - a reader of the NATS JetStream stream (an ordered consumer, from its first message), at the end.
 * The brokers are the machine's own (the test suite's): NATS 127.0.0.1:4222 (JetStream, file
 * storage), Redis :6379 (nothing on disk), RabbitMQ :5672, Mosquitto :1883.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { connect as amqpConnect, type Channel, type ChannelModel } from 'amqplib';
import { Redis } from 'ioredis';
import { connect as mqttConnect, type MqttClient } from 'mqtt';
import { connect as natsConnect } from 'nats';
import { verifySignature } from '@ecron/contracts/signature';
import { sleep } from './children.ts';
import { EventTally, eventAt, seededRandom } from './event-tally.ts';

export const NATS_URL = 'nats://127.0.0.1:4222';
export const REDIS_URL = 'redis://127.0.0.1:6379';
export const AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';
export const MQTT_URL = 'mqtt://127.0.0.1:1883';

const run = promisify(execFile);

/** The webhook receiver: 500 to `failRatio` of the requests (seeded), else 204 after recording the batch. */
export class WebhookReceiver {
  readonly tally = new EventTally('webhook');
  requests = 0;
  refused = 0;
  refusedEvents = 0;
  badSignatures = 0;
  secret = '';
  readonly #server: Server;

  constructor(failRatio: number, seed: number) {
    const random = seededRandom(seed);
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        this.requests += 1;
        const body = Buffer.concat(chunks).toString('utf8');
        if (random() < failRatio) {
          this.refused += 1;
          this.refusedEvents += (body.match(/"seq":/g) ?? []).length;
          res.writeHead(500).end('refused by the benchmark');
          return;
        }
        if (this.secret && !verifySignature(this.secret, body, req.headers['x-ecron-signature'] as string | undefined, Date.now()).ok) this.badSignatures += 1;
        const { events } = JSON.parse(body) as { events: { id: string; seq: number; at: string }[] };
        const now = Date.now();
        for (const e of events) this.tally.receive(e.seq, e.id, Date.parse(e.at), now);
        res.writeHead(204).end();
      });
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/hook`;
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

/** A drop of a consumer's connection: the last seq read before it, the first read after it (null: none yet). */
export interface Drop {
  at: number;
  last: number;
  next: number | null;
}

/** Reads the stream `key` continuously with XREAD BLOCK, from the start. */
export class RedisConsumer {
  readonly tally = new EventTally('redis');
  readonly drops: Drop[] = [];
  readonly #key: string;
  readonly #redis: Redis;
  #lastId = '0-0';
  #stopped = false;
  #loop: Promise<void> = Promise.resolve();

  constructor(key: string) {
    this.#key = key;
    this.#redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null, retryStrategy: () => 200, lazyConnect: true });
    this.#redis.on('error', () => {});
    this.#redis.on('close', () => {
      if (!this.#stopped && this.drops.at(-1)?.next !== null) this.drops.push({ at: Date.now(), last: this.tally.maxSeq, next: null });
    });
  }

  async start(): Promise<void> {
    await this.#redis.connect();
    this.#loop = this.#read();
  }

  async #read(): Promise<void> {
    while (!this.#stopped) {
      try {
        const answer = await this.#redis.xread('COUNT', 2000, 'BLOCK', 500, 'STREAMS', this.#key, this.#lastId);
        const now = Date.now();
        for (const [, entries] of answer ?? []) {
          for (const [entryId, fields] of entries) {
            const f: Record<string, string> = {};
            for (let i = 0; i < fields.length; i += 2) f[fields[i]!] = fields[i + 1]!;
            const seq = Number(f.seq);
            const drop = this.drops.at(-1);
            if (drop && drop.next === null) drop.next = seq;
            this.tally.receive(seq, f.id!, eventAt(f.body ?? ''), now);
            this.#lastId = entryId;
          }
        }
      } catch {
        await sleep(100);
      }
    }
  }

  /** Stops reading, deletes the key. */
  async close(): Promise<void> {
    this.#stopped = true;
    this.#redis.disconnect();
    await this.#loop;
    const admin = new Redis(REDIS_URL, { maxRetriesPerRequest: 3 });
    admin.on('error', () => {});
    await admin.del(this.#key).catch(() => {});
    admin.disconnect();
  }
}

/** Consumes a durable queue bound (`#`) to a durable topic exchange, acking each message; reconnects when the broker goes away. */
export class RabbitConsumer {
  readonly tally = new EventTally('rabbitmq');
  readonly drops: Drop[] = [];
  /** Messages the broker flagged `redelivered`. */
  flaggedRedelivered = 0;
  readonly #exchange: string;
  readonly #queue: string;
  #connection: ChannelModel | null = null;
  #stopped = false;

  constructor(exchange: string, queue: string) {
    this.#exchange = exchange;
    this.#queue = queue;
  }

  /** Declares the exchange and the queue and binds them (before the subscription starts), then consumes. */
  async start(): Promise<void> {
    await this.#open();
  }

  async #open(): Promise<void> {
    const connection = await amqpConnect(AMQP_URL);
    this.#connection = connection;
    connection.on('error', () => {});
    connection.on('close', () => {
      if (this.#stopped) return;
      this.drops.push({ at: Date.now(), last: this.tally.maxSeq, next: null });
      void this.#reopen();
    });
    const channel: Channel = await connection.createChannel();
    channel.on('error', () => {});
    await channel.assertExchange(this.#exchange, 'topic', { durable: true });
    await channel.assertQueue(this.#queue, { durable: true });
    await channel.bindQueue(this.#queue, this.#exchange, '#');
    await channel.prefetch(1000);
    await channel.consume(this.#queue, (msg) => {
      if (!msg) return;
      const seq = Number(msg.properties.headers?.['ecron-seq']);
      const drop = this.drops.at(-1);
      if (drop && drop.next === null) drop.next = seq;
      if (msg.fields.redelivered) this.flaggedRedelivered += 1;
      this.tally.receive(seq, String(msg.properties.messageId), eventAt(msg.content.toString('utf8')));
      try {
        channel.ack(msg);
      } catch {
        // the channel closed: the broker delivers it again
      }
    }, { noAck: false });
  }

  async #reopen(): Promise<void> {
    while (!this.#stopped) {
      await sleep(500);
      try {
        await this.#open();
        return;
      } catch {
        // the broker is still restarting
      }
    }
  }

  /** Stops consuming, deletes the queue and the exchange. */
  async close(): Promise<void> {
    this.#stopped = true;
    await this.#connection?.close().catch(() => {});
    const connection = await amqpConnect(AMQP_URL);
    const channel = await connection.createChannel();
    await channel.deleteQueue(this.#queue).catch(() => {});
    await channel.deleteExchange(this.#exchange).catch(() => {});
    await connection.close().catch(() => {});
  }
}

/** An MQTT 5 subscriber of `filter` at QoS 1 (a clean session). */
export class MqttConsumer {
  readonly tally = new EventTally('mqtt');
  readonly #client: MqttClient;
  readonly #filter: string;

  constructor(filter: string, clientId: string) {
    this.#filter = filter;
    this.#client = mqttConnect(MQTT_URL, { protocolVersion: 5, clean: true, clientId, reconnectPeriod: 500 });
    this.#client.on('error', () => {});
    this.#client.on('message', (_topic, payload, packet) => {
      const props = packet.properties?.userProperties ?? {};
      const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
      this.tally.receive(Number(one(props.seq)), String(one(props.id)), eventAt(payload.toString('utf8')));
    });
  }

  async start(): Promise<void> {
    if (!this.#client.connected) await new Promise<void>((resolve, reject) => {
      this.#client.once('connect', () => resolve());
      setTimeout(() => reject(new Error(`MQTT: no connection to ${MQTT_URL} within 10 s`)), 10_000).unref();
    });
    await this.#client.subscribeAsync(this.#filter, { qos: 1 });
  }

  async close(): Promise<void> {
    await this.#client.endAsync().catch(() => {});
  }
}

/** Reads the whole NATS stream into `tally` (ordered consumer from its first message), then deletes the stream. */
export async function readNatsStream(stream: string, tally: EventTally, remove = true): Promise<{ messages: number; error?: string }> {
  const nc = await natsConnect({ servers: NATS_URL });
  try {
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info(stream).catch(() => null);
    if (!info) return { messages: 0, error: `stream ${stream} not found` };
    const last = info.state.last_seq;
    if (info.state.messages > 0) {
      const consumer = await nc.jetstream().consumers.get(stream);
      const messages = await consumer.consume({ max_messages: 2000 });
      const timer = setTimeout(() => messages.stop(), 120_000);
      for await (const m of messages) {
        tally.receive(Number(m.headers?.get('Ecron-Seq')), m.headers?.get('Nats-Msg-Id') ?? '', NaN);
        if (m.seq >= last) break;
      }
      clearTimeout(timer);
      await messages.close().catch(() => {});
    }
    if (remove) await jsm.streams.delete(stream).catch(() => {});
    return { messages: info.state.messages };
  } finally {
    await nc.close();
  }
}

// ---- the brokers' restarts ----------------------------------------------------------------------

const NATS_START = ['--start', '--oknodo', '--background', '--exec', '/usr/sbin/nats-server', '--',
  '-a', '127.0.0.1', '-p', '4222', '-js', '-sd', '/var/lib/nats-server', '-l', '/var/log/nats-server.log'];
const REDIS_START = ['--daemonize', 'yes', '--bind', '127.0.0.1', '-::1', '--port', '6379', '--save', '', '--appendonly', 'no',
  '--dir', '/var/lib/redis', '--logfile', '/var/log/redis/ci.log'];

/** When a broker went down and when it accepted connections again. */
export interface Restart {
  broker: string;
  downAt: number;
  upAt: number;
  error?: string;
}

function natsPid(): number | null {
  try {
    const pid = Number(execFileSync('pidof', ['nats-server'], { encoding: 'utf8' }).trim().split(/\s+/)[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await sleep(100);
  }
}

const natsAnswers = async (): Promise<boolean> => {
  const nc = await natsConnect({ servers: NATS_URL, timeout: 1000, reconnect: false });
  await nc.jetstreamManager().then((jsm) => jsm.getAccountInfo());
  await nc.close();
  return true;
};
const redisAnswers = async (): Promise<boolean> => (await run('redis-cli', ['ping'], { timeout: 5000 })).stdout.trim() === 'PONG';

/** Stops nats-server (SIGTERM to its pid, waits for the exit), starts it again, waits until JetStream answers. */
export async function restartNats(): Promise<Restart> {
  const downAt = Date.now();
  const pid = natsPid();
  if (pid !== null) {
    process.kill(pid, 'SIGTERM');
    await until('nats-server did not exit', async () => !existsSync(`/proc/${pid}`), 30_000);
  }
  await run('start-stop-daemon', NATS_START, { timeout: 30_000 });
  await until('NATS did not answer', natsAnswers);
  return { broker: 'nats', downAt, upAt: Date.now() };
}

/** `redis-cli shutdown nosave`, then the machine's redis-server command; waits for PONG. */
export async function restartRedis(): Promise<Restart> {
  const downAt = Date.now();
  await run('redis-cli', ['shutdown', 'nosave'], { timeout: 30_000 }).catch(() => {});
  await until('Redis did not stop', async () => !(await redisAnswers().catch(() => false)), 30_000);
  await run('redis-server', REDIS_START, { timeout: 30_000 });
  await until('Redis did not answer', redisAnswers);
  return { broker: 'redis', downAt, upAt: Date.now() };
}

/** `rabbitmqctl stop_app && rabbitmqctl start_app` (the Erlang node stays up); waits until AMQP connects. */
export async function restartRabbit(): Promise<Restart> {
  const downAt = Date.now();
  await run('rabbitmqctl', ['-q', 'stop_app'], { timeout: 120_000 });
  await run('rabbitmqctl', ['-q', 'start_app'], { timeout: 120_000 });
  await until('RabbitMQ did not accept AMQP', async () => {
    const c = await amqpConnect(AMQP_URL);
    await c.close();
    return true;
  });
  return { broker: 'rabbitmq', downAt, upAt: Date.now() };
}

/** Starts whichever of NATS, Redis and RabbitMQ is not running (synchronous: also safe at exit). Returns what it did. */
export function ensureBrokersSync(): string[] {
  const done: string[] = [];
  const attempt = (what: string, fn: () => void) => {
    try {
      fn();
    } catch (error) {
      done.push(`${what} FAILED: ${(error as Error).message}`);
    }
  };
  attempt('nats', () => {
    if (natsPid() === null) {
      execFileSync('start-stop-daemon', NATS_START, { stdio: 'ignore', timeout: 30_000 });
      done.push('started nats-server');
    }
  });
  attempt('redis', () => {
    let up: boolean;
    try {
      up = execFileSync('redis-cli', ['ping'], { encoding: 'utf8', timeout: 5000 }).trim() === 'PONG';
    } catch {
      up = false;
    }
    if (!up) {
      execFileSync('redis-server', REDIS_START, { stdio: 'ignore', timeout: 30_000 });
      done.push('started redis-server');
    }
  });
  // start_app is a no-op when the app runs.
  attempt('rabbitmq', () => execFileSync('rabbitmqctl', ['-q', 'start_app'], { stdio: 'ignore', timeout: 120_000 }));
  return done;
}
