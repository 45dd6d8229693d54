/**
 * What one consumer of the event log received (bench/events-chaos.ts): every receipt, by message
 * id and by seq, so that at the end it tells the events of a seq range that never arrived (gaps),
 * those that arrived under two ids (duplicates after deduplication by id), the raw redeliveries (an
 * id received again), the first arrivals out of seq order, and the commit-to-consumer latency
 * (receipt − the event's `at`) in a histogram of 1 ms buckets.
 */

/** Latencies in 1 ms buckets up to `LATENCY_BUCKETS` ms (more: the last bucket), with the exact max. */
export const LATENCY_BUCKETS = 600_000;

export class LatencyHistogram {
  counts: Uint32Array = new Uint32Array(LATENCY_BUCKETS + 1);
  max = -Infinity;
  total = 0;

  add(ms: number): void {
    const bucket = Math.min(LATENCY_BUCKETS, Math.max(0, Math.round(ms)));
    this.counts[bucket]! += 1;
    this.total += 1;
    if (ms > this.max) this.max = ms;
  }

  merge(other: { counts: Uint32Array; max: number; total: number }): void {
    for (let i = 0; i < other.counts.length; i += 1) if (other.counts[i]) this.counts[i]! += other.counts[i]!;
    this.total += other.total;
    this.max = Math.max(this.max, other.max);
  }

  /** Nearest-rank percentile, ms (1 ms resolution); NaN when empty. */
  percentile(p: number): number {
    if (this.total === 0) return NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.total));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i += 1) {
      seen += this.counts[i]!;
      if (seen >= rank) return i;
    }
    return LATENCY_BUCKETS;
  }
}

/** The `at` of an event's JSON text (the key `"at"` exactly), as epoch ms; NaN when absent. */
export function eventAt(json: string): number {
  const i = json.indexOf('"at":"');
  if (i < 0) return NaN;
  return Date.parse(json.slice(i + 6, json.indexOf('"', i + 6)));
}

export interface TallyFigures {
  /** Seqs in (from, through]. */
  expected: number;
  /** Seqs of the range received (once or more). */
  received: number;
  /** Seqs of the range never received, below the highest one received (a hole). */
  gaps: number;
  /** Seqs of the range above the highest one received: not reached by the end (a consumer behind, not a hole). */
  behind: number;
  /** Seqs of the range received under more than one id (after deduplication by id). */
  duplicates: number;
  /** Receipts of an id already received. */
  redeliveries: number;
  /** First arrivals of an id whose seq was below one already received. */
  outOfOrder: number;
  /** The first missing seqs (up to 20), and the missing ones as ranges `a-b` (up to 20). */
  missing: string[];
  latency: { p50: number; p99: number; max: number; count: number };
}

export class EventTally {
  readonly name: string;
  readonly latency = new LatencyHistogram();
  readonly #ids = new Set<string>();
  /** seq → the id it was first received under. */
  readonly #seqs = new Map<number, string>();
  #duplicateSeqs = new Set<number>();
  raw = 0;
  redeliveries = 0;
  outOfOrder = 0;
  maxSeq = 0;
  /** Latency is recorded while true (the window), not during the drain. */
  timing = true;

  constructor(name: string) {
    this.name = name;
  }

  /** One receipt: the event `seq` under message `id`, its `at` (epoch ms), received at `now`. */
  receive(seq: number, id: string, at: number, now = Date.now()): void {
    this.raw += 1;
    if (this.#ids.has(id)) {
      this.redeliveries += 1;
      return;
    }
    this.#ids.add(id);
    const earlier = this.#seqs.get(seq);
    if (earlier !== undefined) this.#duplicateSeqs.add(seq);
    else this.#seqs.set(seq, id);
    if (seq < this.maxSeq) this.outOfOrder += 1;
    else this.maxSeq = seq;
    if (this.timing && Number.isFinite(at)) this.latency.add(now - at);
  }

  has(seq: number): boolean {
    return this.#seqs.has(seq);
  }

  /** The figures over (from, through]; `excused(seq)` tells a missing seq not to count as a gap (reported apart). */
  figures(from: number, through: number, excused: (seq: number) => boolean = () => false): TallyFigures & { excused: number } {
    let gaps = 0;
    let excusedCount = 0;
    let received = 0;
    const ranges: [number, number][] = [];
    const reached = Math.min(through, this.maxSeq);
    const behind = through - Math.max(from, reached);
    for (let seq = from + 1; seq <= reached; seq += 1) {
      if (this.#seqs.has(seq)) {
        received += 1;
        continue;
      }
      if (excused(seq)) {
        excusedCount += 1;
        continue;
      }
      gaps += 1;
      const last = ranges.at(-1);
      if (last && last[1] === seq - 1) last[1] = seq;
      else ranges.push([seq, seq]);
    }
    let duplicates = 0;
    for (const seq of this.#duplicateSeqs) if (seq > from && seq <= through) duplicates += 1;
    return {
      expected: through - from, received, gaps, behind, duplicates, redeliveries: this.redeliveries, outOfOrder: this.outOfOrder, excused: excusedCount,
      missing: ranges.slice(0, 20).map(([a, b]) => (a === b ? String(a) : `${a}-${b}`)),
      latency: { p50: this.latency.percentile(50), p99: this.latency.percentile(99), max: this.latency.max, count: this.latency.total },
    };
  }
}

/** mulberry32: a seeded PRNG in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
