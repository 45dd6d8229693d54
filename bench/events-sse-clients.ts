/**
 * SSE clients of the event log for bench/events-chaos.ts, in a process of their own (the driver
 * starts several, so that parsing ~2,000 events per second per client spreads over the CPUs).
 *
 *   node bench/events-sse-clients.ts     (started by the driver with an IPC channel)
 *
 * Messages from the driver:
 *   { type: 'start', urls, token, after, clients, seed, dropMaxMs }
 *       `clients` clients, each on a random node of `urls`, reading `GET /api/v1/events?after=AFTER`
 *       as text/event-stream (node:http, a connection of its own, eventsource-parser). Each is
 *       dropped (its connection destroyed) after a uniform 0–dropMaxMs and reconnects at once to a
 *       random node with `Last-Event-ID` = the last id it received. Answers `{ type: 'start' }`.
 *   { type: 'commits', seqs, at }
 *       when each of these events' transactions was seen committed (bench/lib/commit-watcher.ts):
 *       receipts of them during the window also go to a commit-to-client histogram.
 *   { type: 'status' } → { type: 'status', connected, events }
 *   { type: 'finish', through, timeoutMs }
 *       no more drops, no more latency samples; each client reads on until it has received seq
 *       `through`, then closes. Answers `{ type: 'finish', clients: [...], hist }` once all are done
 *       or after timeoutMs.
 *   { type: 'stop' } exits.
 * Per client: gaps (seqs of (after, through] never received, below the highest received), behind (above it), duplicates (a seq received again),
 * out of order (a seq below one received before), reconnects, closes by the server, HTTP errors.
 * Latency goes to two histograms of 1 ms buckets per process: receipt − the event's `at` (its row's
 * insert, inside the writing transaction), and receipt − its commit as the driver saw it.
 */
import { request, type ClientRequest } from 'node:http';
import { createParser } from 'eventsource-parser';
import { eventAt, LatencyHistogram, seededRandom } from './lib/event-tally.ts';

interface Start {
  urls: string[];
  token: string;
  after: number;
  clients: number;
  seed: number;
  dropMaxMs: number;
}

const hist = new LatencyHistogram();
const commitHist = new LatencyHistogram();
/** When each seq's transaction was seen committed (index: seq − after; 0: not known yet). */
let commitAt = new Float64Array(1 << 18);
/** Receipts during the window of seqs whose commit time is not known yet: receipt times by seq. */
const pending = new Map<number, number[]>();
let pendingCount = 0;
let timing = true;
let dropping = true;
let through = Infinity;
let events = 0;
let random = Math.random;
let settings: Start;

class Client {
  counts = new Uint8Array(1 << 18);
  lastId = 0;
  maxSeq = 0;
  first = 0;
  outOfOrder = 0;
  belowStart = 0;
  reconnects = 0;
  serverCloses = 0;
  httpErrors = 0;
  connected = false;
  done = false;
  #req: ClientRequest | null = null;
  #dropTimer: NodeJS.Timeout | null = null;
  #generation = 0;
  onDone: (() => void) | null = null;

  connect(): void {
    if (this.done) return;
    const generation = ++this.#generation;
    const url = settings.urls[Math.floor(random() * settings.urls.length)]!;
    const headers: Record<string, string> = { accept: 'text/event-stream', authorization: `Bearer ${settings.token}` };
    if (this.lastId > 0) headers['last-event-id'] = String(this.lastId);
    const req = request(`${url}/api/v1/events?after=${settings.after}`, { headers, agent: false }, (res) => {
      if (res.statusCode !== 200) {
        this.httpErrors += 1;
        res.resume();
        res.on('end', () => this.#again(generation, 200));
        return;
      }
      this.connected = true;
      res.setEncoding('utf8');
      const parser = createParser({ onEvent: (event) => this.#event(Number(event.id), event.data) });
      res.on('data', (chunk: string) => parser.feed(chunk));
      res.on('close', () => {
        if (generation !== this.#generation) return;
        this.connected = false;
        if (!this.done) this.serverCloses += 1;
        this.#again(generation, 100);
      });
    });
    req.on('error', () => {
      if (generation !== this.#generation) return;
      this.connected = false;
      this.httpErrors += 1;
      this.#again(generation, 200);
    });
    req.end();
    this.#req = req;
    if (dropping) {
      this.#dropTimer = setTimeout(() => {
        if (generation !== this.#generation || this.done || !dropping) return;
        this.#generation += 1;
        this.connected = false;
        req.destroy();
        this.reconnects += 1;
        this.connect();
      }, random() * settings.dropMaxMs);
    }
  }

  #again(generation: number, delayMs: number): void {
    if (generation !== this.#generation || this.done) return;
    this.#generation += 1;
    if (this.#dropTimer) clearTimeout(this.#dropTimer);
    setTimeout(() => {
      this.reconnects += 1;
      this.connect();
    }, delayMs);
  }

  #event(seq: number, data: string): void {
    events += 1;
    if (timing) {
      const now = Date.now();
      hist.add(now - eventAt(data));
      const committed = seq > settings.after && seq - settings.after < commitAt.length ? commitAt[seq - settings.after]! : 0;
      if (committed > 0) commitHist.add(now - committed);
      else {
        const times = pending.get(seq);
        if (times) times.push(now);
        else pending.set(seq, [now]);
        pendingCount += 1;
      }
    }
    this.lastId = seq;
    if (seq <= settings.after) {
      this.belowStart += 1;
      return;
    }
    if (this.first === 0) this.first = seq;
    const index = seq - settings.after;
    if (index >= this.counts.length) {
      const grown = new Uint8Array(Math.max(this.counts.length * 2, index + 1));
      grown.set(this.counts);
      this.counts = grown;
    }
    if (this.counts[index] === 0 && seq < this.maxSeq) this.outOfOrder += 1;
    if (this.counts[index]! < 255) this.counts[index]! += 1;
    if (seq > this.maxSeq) this.maxSeq = seq;
    if (this.maxSeq >= through) this.finish();
  }

  finish(): void {
    if (this.done) return;
    this.done = true;
    this.#generation += 1;
    if (this.#dropTimer) clearTimeout(this.#dropTimer);
    this.#req?.destroy();
    this.onDone?.();
  }

  figures(): Record<string, unknown> {
    let gaps = 0;
    let duplicates = 0;
    const missing: number[] = [];
    const span = Number.isFinite(through) ? Math.min(through, this.maxSeq) - settings.after : 0;
    const behind = Number.isFinite(through) ? through - Math.max(settings.after, Math.min(through, this.maxSeq)) : 0;
    for (let index = 1; index <= span; index += 1) {
      const n = index < this.counts.length ? this.counts[index]! : 0;
      if (n === 0) {
        gaps += 1;
        if (missing.length < 10) missing.push(settings.after + index);
      } else duplicates += n - 1;
    }
    return {
      first: this.first, last: this.maxSeq, gaps, behind, duplicates, missing, outOfOrder: this.outOfOrder, belowStart: this.belowStart,
      reconnects: this.reconnects, serverCloses: this.serverCloses, httpErrors: this.httpErrors, reached: this.maxSeq >= through,
    };
  }
}

const clients: Client[] = [];
const send = (message: Record<string, unknown>): void => {
  process.send?.(message);
};

process.on('message', (message: { type: string } & Record<string, unknown>) => {
  switch (message.type) {
    case 'start': {
      settings = message as unknown as Start;
      random = seededRandom(settings.seed);
      for (let i = 0; i < settings.clients; i += 1) clients.push(new Client());
      for (const client of clients) client.connect();
      return send({ type: 'start' });
    }
    case 'commits': {
      const seqs = message.seqs as number[];
      const at = message.at as number[];
      for (let i = 0; i < seqs.length; i += 1) {
        const index = seqs[i]! - settings.after;
        if (index <= 0) continue;
        if (index >= commitAt.length) {
          const grown = new Float64Array(Math.max(commitAt.length * 2, index + 1));
          grown.set(commitAt);
          commitAt = grown;
        }
        commitAt[index] = at[i]!;
      }
      for (let i = 0; i < seqs.length; i += 1) {
        const times = pending.get(seqs[i]!);
        if (!times) continue;
        for (const received of times) commitHist.add(received - at[i]!);
        pendingCount -= times.length;
        pending.delete(seqs[i]!);
      }
      return;
    }
    case 'status':
      return send({ type: 'status', connected: clients.filter((c) => c.connected).length, events });
    case 'finish': {
      dropping = false;
      timing = false;
      through = message.through as number;
      const report = () => send({
        type: 'finish', clients: clients.map((c) => c.figures()), hist: { counts: hist.counts, max: hist.max, total: hist.total },
        commitHist: { counts: commitHist.counts, max: commitHist.max, total: commitHist.total }, uncommitted: pendingCount,
      });
      let reported = false;
      const check = () => {
        if (reported || clients.some((c) => !c.done)) return;
        reported = true;
        report();
      };
      for (const client of clients) {
        client.onDone = check;
        if (client.maxSeq >= through) client.finish();
      }
      check();
      setTimeout(() => {
        if (reported) return;
        reported = true;
        for (const client of clients) client.finish();
        report();
      }, message.timeoutMs as number).unref();
      return;
    }
    case 'stop':
      for (const client of clients) client.finish();
      process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
