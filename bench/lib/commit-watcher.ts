/**
 * When each event became visible in the store: the commit of the transaction that wrote it, seen
 * from outside, for a commit-to-client latency. An event's `at` is the time its row was inserted,
 * inside the writing transaction, so receipt − `at` also counts the rest of that transaction
 * (a fire transaction of hundreds of runs). PostgreSQL does not keep commit times unless
 * `track_commit_timestamp` is set, which needs a server restart.
 *
 * So this polls the scratch schema every `everyMs` on a connection of its own:
 *
 * ```sql
 * SELECT id FROM events WHERE seq IS NULL                         -- committed, not numbered yet
 * SELECT id, seq FROM events WHERE seq > $last ORDER BY seq LIMIT  -- numbered since the last poll
 * ```
 *
 * Committed events are numbered after their commit (`store/sql/events.ts`). A poll sees each one
 * either still unnumbered or freshly numbered, and the first poll that sees it dates its commit.
 * That time is after the commit, by at most `everyMs` plus the query's time, so a latency measured
 * from it is at most that much short. `onSeqs` receives, for each numbered event, its seq and that
 * first-seen time (ms since the epoch).
 */
import pg from 'pg';

export interface CommitWatcherOptions {
  /** A PostgreSQL store URL with `?schema=`. */
  storeUrl: string;
  /** Only events numbered after this seq. */
  after: number;
  everyMs?: number;
  onSeqs: (seqs: number[], seenAt: number[]) => void;
}

export class CommitWatcher {
  readonly #o: Required<CommitWatcherOptions>;
  readonly #firstSeen = new Map<string, number>();
  #client: pg.Client | null = null;
  #last: number;
  #running = false;
  #loop: Promise<void> | null = null;
  /** Polls, and the slowest one (ms). */
  polls = 0;
  slowestPollMs = 0;

  constructor(options: CommitWatcherOptions) {
    this.#o = { everyMs: 25, ...options };
    this.#last = options.after;
  }

  async start(): Promise<void> {
    const url = new URL(this.#o.storeUrl);
    const schema = url.searchParams.get('schema');
    url.searchParams.delete('schema');
    this.#client = new pg.Client({ connectionString: url.toString() });
    await this.#client.connect();
    if (schema) await this.#client.query(`SET search_path TO ${pg.escapeIdentifier(schema)}`);
    this.#running = true;
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
    await this.#client?.end();
    this.#client = null;
  }

  async #run(): Promise<void> {
    while (this.#running) {
      const started = Date.now();
      // Two queries, each an index range (events_unsequenced, events_seq): one with `OR` is planned,
      // once prepared, as a scan of the whole table, which at every few ms loads the database measured.
      const unsequenced = await this.#client!.query<{ id: string; seq: null }>('SELECT id, NULL AS seq FROM events WHERE seq IS NULL');
      const numbered = await this.#client!.query<{ id: string; seq: string }>('SELECT id, seq FROM events WHERE seq > $1 ORDER BY seq LIMIT 20000', [this.#last]);
      const rows: { id: string; seq: string | null }[] = [...unsequenced.rows, ...numbered.rows];
      const now = Date.now();
      const seqs: number[] = [];
      const seen: number[] = [];
      for (const row of rows) {
        const first = this.#firstSeen.get(row.id) ?? now;
        if (row.seq === null) {
          this.#firstSeen.set(row.id, first);
          continue;
        }
        const seq = Number(row.seq);
        this.#firstSeen.delete(row.id);
        if (seq > this.#last) {
          seqs.push(seq);
          seen.push(first);
        }
      }
      if (seqs.length > 0) {
        for (const seq of seqs) if (seq > this.#last) this.#last = seq;
        this.#o.onSeqs(seqs, seen);
      }
      this.polls += 1;
      this.slowestPollMs = Math.max(this.slowestPollMs, Date.now() - started);
      const wait = this.#o.everyMs - (Date.now() - started);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}
