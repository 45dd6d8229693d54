/**
 * The event log's live side on one node (issue 18). Every node runs it:
 * - the **sequencer** numbers the events its store's triggers wrote (SQL stores; see
 *   `store/sql/events.ts`), one node at a time, every `sequenceEveryMs`;
 * - the **tail** reads what has been numbered since it last looked into a bounded buffer, while
 *   someone follows the log, and wakes the followers. It reads at each pass, and at once when the
 *   store says another node numbered events (a `StoreChange` of kind `events`: NOTIFY on
 *   PostgreSQL), so a follower on any node waits for no poll;
 * - **followers** ({@link EventLog.follow}) are served from the buffer when their position is in
 *   it, and from the store otherwise (a client resuming from an old `Last-Event-ID`), so a client
 *   gets every event after its position once, in order, with no gap; or, when retention deleted
 *   events after its position, EVENTS_EXPIRED ({@link EventLog.assertKept}), never a silent gap.
 */
import { systemClock, type Clock, type TimerHandle } from '../core/clock.ts';
import { EcronError } from '../core/errors.ts';
import { eventMatcher } from '../store/event-rows.ts';
import type { ChangeSubscription, EventFilter, EventRecord, Store } from '../store/store.ts';

export interface EventLogOptions {
  store: Store;
  /** Times the loops (polling, not timing logic). @default systemClock */
  clock?: Clock;
  /** How often the sequencer and the tail run. @default 50 */
  pollMs?: number;
  /** Events numbered per sequencer transaction. @default 5000 */
  sequenceBatch?: number;
  /** Events kept in memory for followers. @default 20000 */
  bufferSize?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

/** Events read from the store per query when a follower is behind the buffer. */
const CATCH_UP_PAGE = 1000;

export class EventLog {
  readonly #o: Required<EventLogOptions>;
  #buffer: EventRecord[] = [];
  /** The highest seq read by the tail: every event up to it is in the store (or was pruned). */
  #head = 0;
  #followers = 0;
  #waiters: (() => void)[] = [];
  #timer: TimerHandle | null = null;
  #pass: Promise<void> | null = null;
  #stopped = true;
  #failing = false;
  #changes: ChangeSubscription | null = null;
  /** A read asked for while a pass ran: the tail reads again when it ends. */
  #readAgain = false;

  constructor(options: EventLogOptions) {
    this.#o = { clock: systemClock, pollMs: 50, sequenceBatch: 5000, bufferSize: 20_000, log: () => {}, ...options };
  }

  /** The highest seq this node has read. */
  get head(): number {
    return this.#head;
  }

  async start(): Promise<void> {
    if (!this.#stopped) return;
    this.#head = await this.#o.store.lastEventSeq();
    this.#stopped = false;
    this.#changes = await this.#o.store.watchChanges((changes) => {
      if (changes.some((change) => change.kind === 'events')) this.#readSoon();
    });
    this.#schedule();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) this.#o.clock.clearTimer(this.#timer);
    this.#timer = null;
    await this.#changes?.close();
    this.#changes = null;
    await this.#pass;
    this.#wake();
  }

  /** The highest seq given so far in the store (for a follower that starts "now"). */
  lastSeq(): Promise<number> {
    return this.#o.store.lastEventSeq();
  }

  /** Runs one sequencer and tail pass now (tests; and after a write this node wants seen soon). */
  async poll(): Promise<void> {
    while (this.#pass) await this.#pass;
    this.#pass = this.#runPass(true).finally(() => {
      this.#pass = null;
    });
    await this.#pass;
  }

  /** A tail read now, or right after the pass in progress, while someone follows the log. */
  #readSoon(): void {
    if (this.#stopped || this.#followers === 0) return;
    if (this.#pass) {
      this.#readAgain = true;
      return;
    }
    this.#pass = this.#runPass(false).finally(() => {
      this.#pass = null;
      if (this.#readAgain) {
        this.#readAgain = false;
        this.#readSoon();
      }
    });
  }

  /**
   * Throws EVENTS_EXPIRED when retention deleted events after `after`: a reader there would skip
   * them. `after` 0 means "from the oldest kept", never expired.
   */
  async assertKept(after: number): Promise<void> {
    const first = this.#buffer[0]?.seq;
    if (first !== undefined && after >= first - 1) return;
    await assertEventsKept(this.#o.store, after);
  }

  /**
   * The events after `after` that match `filter`, in batches, until `signal` aborts or the log
   * stops. Each event is yielded once, in seq order. Throws EVENTS_EXPIRED when it would read
   * past events retention deleted.
   */
  async *follow(p: { after: number; filter: EventFilter; signal: AbortSignal }): AsyncGenerator<EventRecord[]> {
    this.#followers++;
    let cursor = p.after;
    const matches = eventMatcher(p.filter);
    try {
      while (!p.signal.aborted && !this.#stopped) {
        const head = this.#head;
        if (cursor >= head) {
          await this.#advanced(p.signal);
          continue;
        }
        const first = this.#buffer[0]?.seq;
        if (first !== undefined && cursor >= first - 1) {
          const from = lowerBound(this.#buffer, cursor + 1);
          const batch = this.#buffer.slice(from);
          cursor = batch.at(-1)?.seq ?? head;
          const matched = batch.filter(matches);
          if (matched.length > 0) yield matched;
        } else {
          await this.assertKept(cursor);
          const page = await this.#o.store.readEvents({ after: cursor, through: head, limit: CATCH_UP_PAGE, filter: p.filter });
          cursor = page.length === CATCH_UP_PAGE ? page.at(-1)!.seq : head;
          if (page.length > 0) yield page;
        }
      }
    } finally {
      this.#followers--;
    }
  }

  #advanced(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.#waiters.push(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter();
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = this.#o.clock.setTimer(() => {
      this.#timer = null;
      void this.poll().finally(() => this.#schedule());
    }, this.#o.pollMs);
  }

  async #runPass(sequence: boolean): Promise<void> {
    try {
      while (sequence && (await this.#o.store.sequenceEvents({ limit: this.#o.sequenceBatch })) === this.#o.sequenceBatch) { /* more waiting */ }
      if (this.#followers > 0) await this.#tail();
      else this.#head = Math.max(this.#head, await this.#o.store.lastEventSeq());
      if (this.#failing) this.#o.log('info', 'the event log reads again');
      this.#failing = false;
    } catch (error) {
      if (!this.#failing) this.#o.log('warn', 'the event log could not be read or numbered; retrying', { error: String(error) });
      this.#failing = true;
    }
  }

  async #tail(): Promise<void> {
    for (;;) {
      const page = await this.#o.store.readEvents({ after: this.#head, limit: this.#o.sequenceBatch });
      if (page.length === 0) return;
      // The buffer holds a contiguous stretch of the log ending at head; what retention deleted
      // is simply absent from it.
      if (this.#buffer.length > 0 && this.#buffer.at(-1)!.seq !== this.#head) this.#buffer = [];
      this.#buffer.push(...page);
      if (this.#buffer.length > this.#o.bufferSize) this.#buffer = this.#buffer.slice(this.#buffer.length - this.#o.bufferSize);
      this.#head = page.at(-1)!.seq;
      this.#wake();
      if (page.length < this.#o.sequenceBatch) return;
    }
  }
}

/**
 * Throws EVENTS_EXPIRED when retention deleted events after seq `after` from `store`. `after` 0
 * means "from the oldest kept", never expired.
 */
export async function assertEventsKept(store: Pick<Store, 'oldestEventSeq' | 'lastEventSeq'>, after: number): Promise<void> {
  if (after <= 0) return;
  const oldest = await store.oldestEventSeq();
  const expired = oldest === null ? after < (await store.lastEventSeq()) : after < oldest - 1;
  if (expired) {
    throw new EcronError('EVENTS_EXPIRED', `events after seq ${after} were deleted by retention; the oldest kept is ${oldest ?? 'none'}`, { after, oldestSeq: oldest });
  }
}

/** The index of the first event with seq >= `seq`. */
function lowerBound(events: readonly EventRecord[], seq: number): number {
  let lo = 0;
  let hi = events.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (events[mid]!.seq < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
