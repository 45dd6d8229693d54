import type { Clock, TimerHandle } from '../core/clock.ts';

interface Entry<T> {
  key: string;
  at: number;
  seq: number;
  value: T;
  index: number;
}

/**
 * Keyed entries due at given instants, held in a binary min-heap with ONE clock timer armed for
 * the earliest. When the timer fires, every entry due at or before `clock.now()` (plus the lead
 * and span, when set) is handed to `onDue` in one batch, in due order. Without a lead, an entry
 * is never handed out before its instant: a timer that wakes early is simply re-armed.
 */
export class TimerQueue<T> {
  readonly #clock: Clock;
  readonly #onDue: (entries: { key: string; at: number; value: T }[]) => void;
  readonly #heap: Entry<T>[] = [];
  readonly #byKey = new Map<string, Entry<T>>();
  #seq = 0;
  #timer: TimerHandle | null = null;
  #timerAt = Infinity;
  #stopped = false;

  readonly #lead: (count: number) => number;
  readonly #spanMs: number;
  /** Entries by instant, kept only when the lead depends on how many share the earliest instant. */
  readonly #countAt: Map<number, number> | null;

  /**
   * @param options.leadMs hand entries out this long before their instant (default 0: at it); a
   *   function gets the number of entries due at the earliest instant (a burst can be handed out
   *   earlier than a single entry).
   * @param options.spanMs a wake-up also hands out the entries due up to this long after the
   *   first one, so that entries close in time come out in one batch (default 0).
   */
  constructor(clock: Clock, onDue: (entries: { key: string; at: number; value: T }[]) => void,
    options: { leadMs?: number | ((count: number) => number); spanMs?: number } = {}) {
    this.#clock = clock;
    this.#onDue = onDue;
    const lead = options.leadMs ?? 0;
    this.#lead = typeof lead === 'number' ? () => lead : lead;
    this.#countAt = typeof lead === 'number' ? null : new Map();
    this.#spanMs = options.spanMs ?? 0;
  }

  /** The lead of the earliest entry: what `leadMs` says for the entries due at its instant. */
  #leadOf(first: Entry<T>): number {
    return Math.max(0, this.#lead(this.#countAt?.get(first.at) ?? 1));
  }

  get size(): number {
    return this.#heap.length;
  }

  has(key: string): boolean {
    return this.#byKey.has(key);
  }

  get(key: string): { at: number; value: T } | undefined {
    const entry = this.#byKey.get(key);
    return entry && { at: entry.at, value: entry.value };
  }

  /** Adds or replaces the entry under `key`. */
  set(key: string, at: number, value: T): void {
    this.delete(key);
    const entry: Entry<T> = { key, at, seq: this.#seq++, value, index: this.#heap.length };
    this.#heap.push(entry);
    this.#byKey.set(key, entry);
    this.#countAt?.set(at, (this.#countAt.get(at) ?? 0) + 1);
    this.#up(entry.index);
    this.#arm();
  }

  delete(key: string): boolean {
    const entry = this.#byKey.get(key);
    if (!entry) return false;
    this.#byKey.delete(key);
    if (this.#countAt) {
      const count = this.#countAt.get(entry.at)! - 1;
      if (count === 0) this.#countAt.delete(entry.at);
      else this.#countAt.set(entry.at, count);
    }
    const last = this.#heap.pop()!;
    if (last !== entry) {
      this.#heap[entry.index] = last;
      last.index = entry.index;
      this.#down(last.index);
      this.#up(last.index);
    }
    this.#arm();
    return true;
  }

  clear(): void {
    this.#heap.length = 0;
    this.#byKey.clear();
    this.#countAt?.clear();
    this.#disarm();
  }

  stop(): void {
    this.#stopped = true;
    this.clear();
  }

  #disarm(): void {
    if (this.#timer) this.#clock.clearTimer(this.#timer);
    this.#timer = null;
    this.#timerAt = Infinity;
  }

  #arm(): void {
    if (this.#stopped) return;
    const first = this.#heap[0];
    if (!first) {
      this.#disarm();
      return;
    }
    const wakeAt = first.at - this.#leadOf(first);
    if (this.#timer && this.#timerAt <= wakeAt) return;
    this.#disarm();
    this.#timerAt = wakeAt;
    this.#timer = this.#clock.setTimer(() => this.#fire(), wakeAt - this.#clock.now());
  }

  #fire(): void {
    this.#timer = null;
    this.#timerAt = Infinity;
    const now = this.#clock.now();
    const due: { key: string; at: number; value: T }[] = [];
    const first = this.#heap[0];
    const lead = first ? this.#leadOf(first) : 0;
    const until = first && first.at - lead <= now ? Math.max(now + lead, first.at + this.#spanMs) : now + lead;
    while (this.#heap.length > 0 && this.#heap[0]!.at <= until) {
      const entry = this.#heap[0]!;
      this.delete(entry.key);
      due.push({ key: entry.key, at: entry.at, value: entry.value });
    }
    this.#arm();
    if (due.length > 0) this.#onDue(due);
  }

  #less(a: Entry<T>, b: Entry<T>): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  #swap(i: number, j: number): void {
    const a = this.#heap[i]!;
    const b = this.#heap[j]!;
    this.#heap[i] = b;
    this.#heap[j] = a;
    a.index = j;
    b.index = i;
  }

  #up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(this.#heap[i]!, this.#heap[parent]!)) break;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(i: number): void {
    const n = this.#heap.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = i;
      if (l < n && this.#less(this.#heap[l]!, this.#heap[smallest]!)) smallest = l;
      if (r < n && this.#less(this.#heap[r]!, this.#heap[smallest]!)) smallest = r;
      if (smallest === i) break;
      this.#swap(i, smallest);
      i = smallest;
    }
  }
}
