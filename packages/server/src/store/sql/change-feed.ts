/**
 * `Store.watchChanges` on the SQL stores. Verbs that change what other nodes cache (task verbs,
 * `publishChanges`) append rows to the `changes` log in their own transaction, and on PostgreSQL
 * also `pg_notify` (delivered at commit). Each store runs one poller while it has listeners: it
 * reads the log on every wake-up (LISTEN on PostgreSQL) and at least every `changePollMs`
 * (200 ms on MySQL, where it is the only path; 1 s on PostgreSQL, as the fallback).
 *
 * Sequence numbers are allocated before commit, so a transaction may commit after a later one
 * was read: each read goes back LATE_COMMIT_WINDOW numbers behind the highest seen and drops what
 * it has delivered already. Rows older than LOG_RETENTION_MS are pruned.
 */
import { sql, type Kysely } from 'kysely';
import { LocalChangeFeed } from '../change-feed.ts';
import type { ChangeSubscription, StoreChange } from '../store.ts';
import { inTransaction, rows, type SqlContext } from './context.ts';

const LATE_COMMIT_WINDOW = 100;
const LOG_RETENTION_MS = 5 * 60_000;
const PRUNE_EVERY_MS = 60_000;
const READ_LIMIT = 10_000;

/** Appends `changes` to the log inside the caller's transaction `trx`, and wakes listeners on commit. */
export async function logChanges(ctx: SqlContext, trx: Kysely<unknown>, changes: readonly StoreChange[]): Promise<void> {
  if (changes.length === 0) return;
  await ctx.dialect.insertRows(trx, {
    table: 'changes',
    columns: [{ name: 'kind', type: 'text' }, { name: 'id', type: 'text' }, { name: 'at', type: 'bigint' }],
    rows: changes.map((change) => [change.kind, change.id, Date.now()]),
  });
  if (ctx.dialect.notifyChanges) await ctx.dialect.notifyChanges.execute(trx);
}

export function publishChanges(ctx: SqlContext, changes: readonly StoreChange[]): Promise<void> {
  if (changes.length === 0) return Promise.resolve();
  return inTransaction(ctx, (trx) => logChanges(ctx, trx, changes));
}

/** One poller per store, shared by its listeners. */
export class SqlChangeWatcher {
  readonly #ctx: () => SqlContext;
  readonly #local = new LocalChangeFeed();
  #lastSeq: number | null = null;
  readonly #delivered = new Set<number>();
  #timer: NodeJS.Timeout | null = null;
  #listener: { close(): Promise<void> } | null = null;
  #reading: Promise<void> | null = null;
  #again = false;
  #lastPruneAt = Date.now();
  #running = false;

  constructor(ctx: () => SqlContext) {
    this.#ctx = ctx;
  }

  async subscribe(listener: (changes: StoreChange[]) => void): Promise<ChangeSubscription> {
    const subscription = this.#local.subscribe(listener);
    if (!this.#running) await this.#start();
    return {
      close: async () => {
        await subscription.close();
        if (this.#local.size === 0) await this.stop();
      },
    };
  }

  async #start(): Promise<void> {
    this.#running = true;
    const ctx = this.#ctx();
    const [last] = await rows<{ seq: unknown }>(ctx.db, sql`SELECT max(seq) AS seq FROM changes`);
    this.#lastSeq = last?.seq === null || last?.seq === undefined ? 0 : Number(last.seq);
    // What was logged before this subscription is not news: mark the window behind it delivered.
    const recent = await rows<{ seq: unknown }>(ctx.db, sql`SELECT seq FROM changes WHERE seq > ${this.#lastSeq - LATE_COMMIT_WINDOW}`);
    for (const row of recent) this.#delivered.add(Number(row.seq));
    this.#listener = ctx.dialect.listenForChanges ? await ctx.dialect.listenForChanges(() => this.#wake()) : null;
    this.#arm();
  }

  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#listener?.close();
    this.#listener = null;
    await this.#reading;
  }

  #arm(): void {
    if (!this.#running) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#wake(), this.#ctx().dialect.changePollMs);
  }

  /** Reads now, or right after the read in progress. */
  #wake(): void {
    if (!this.#running) return;
    if (this.#reading) {
      this.#again = true;
      return;
    }
    this.#reading = this.#read().catch(() => undefined).finally(() => {
      this.#reading = null;
      if (this.#again) {
        this.#again = false;
        this.#wake();
      } else {
        this.#arm();
      }
    });
  }

  async #read(): Promise<void> {
    const ctx = this.#ctx();
    const from = Math.max(0, (this.#lastSeq ?? 0) - LATE_COMMIT_WINDOW);
    const found = await rows<{ seq: unknown; kind: string; id: string }>(ctx.db,
      sql`SELECT seq, kind, id FROM changes WHERE seq > ${from} ORDER BY seq LIMIT ${READ_LIMIT}`);
    const fresh: StoreChange[] = [];
    for (const row of found) {
      const seq = Number(row.seq);
      if (this.#delivered.has(seq) || seq <= from) continue;
      this.#delivered.add(seq);
      this.#lastSeq = Math.max(this.#lastSeq ?? 0, seq);
      fresh.push({ kind: row.kind as StoreChange['kind'], id: row.id });
    }
    for (const seq of this.#delivered) if (seq <= (this.#lastSeq ?? 0) - LATE_COMMIT_WINDOW) this.#delivered.delete(seq);
    this.#local.publish(fresh);
    if (found.length === READ_LIMIT) this.#again = true;
    if (Date.now() - this.#lastPruneAt > PRUNE_EVERY_MS) {
      this.#lastPruneAt = Date.now();
      await sql`DELETE FROM changes WHERE at < ${Date.now() - LOG_RETENTION_MS}`.execute(ctx.db);
    }
  }
}
