/**
 * Idempotency keys on the SQL stores. A claim is an INSERT under the primary key (scope, idem_key):
 * of concurrent claims of one key, one inserts and the others break the key and read its row. An
 * expired or abandoned row is taken over by compare-and-set on its `created_at`, so of two takeovers
 * one wins. Each statement is atomic on its own: no transaction spans them.
 */
import { sql } from 'kysely';
import { toIdempotencyRecord } from '../sqlite/idempotency.ts';
import type { IdempotencyRecord } from '../store.ts';
import { affected, firstRow, type SqlContext } from './context.ts';

/** Claims that lose a race go round again; a key that changes hands this often in one claim is given up. */
const CLAIM_TRIES = 5;

export async function claimIdempotencyKey(ctx: SqlContext, p: {
  scope: string; key: string; fingerprint: string; at: number; expiresAt: number; staleBefore: number;
}): Promise<IdempotencyRecord | null> {
  for (let attempt = 1; ; attempt++) {
    const row = await firstRow(ctx.db, sql`SELECT * FROM idempotency_keys WHERE scope = ${p.scope} AND idem_key = ${p.key}`);
    if (row === null) {
      try {
        await sql`INSERT INTO idempotency_keys (scope, idem_key, fingerprint, status, body, created_at, expires_at)
          VALUES (${p.scope}, ${p.key}, ${p.fingerprint}, NULL, NULL, ${p.at}, ${p.expiresAt})`.execute(ctx.db);
        return null;
      } catch (error) {
        if (ctx.dialect.uniqueViolation(error) === null || attempt >= CLAIM_TRIES) throw error;
        continue; // another request claimed it first: read its row
      }
    }
    const existing = toIdempotencyRecord(row);
    const abandoned = existing.status === null && existing.createdAt < p.staleBefore;
    if (existing.expiresAt > p.at && !abandoned) return existing;
    const taken = await affected(ctx.db, sql`UPDATE idempotency_keys SET fingerprint = ${p.fingerprint}, status = NULL, body = NULL,
      created_at = ${p.at}, expires_at = ${p.expiresAt} WHERE scope = ${p.scope} AND idem_key = ${p.key} AND created_at = ${existing.createdAt}`);
    if (taken === 1) return null;
    if (attempt >= CLAIM_TRIES) return existing;
  }
}

export async function completeIdempotencyKey(ctx: SqlContext, p: { scope: string; key: string; fingerprint: string; status: number; body: string }): Promise<void> {
  await sql`UPDATE idempotency_keys SET status = ${p.status}, body = ${p.body}
    WHERE scope = ${p.scope} AND idem_key = ${p.key} AND fingerprint = ${p.fingerprint} AND status IS NULL`.execute(ctx.db);
}

export async function releaseIdempotencyKey(ctx: SqlContext, p: { scope: string; key: string; fingerprint: string }): Promise<void> {
  await sql`DELETE FROM idempotency_keys WHERE scope = ${p.scope} AND idem_key = ${p.key} AND fingerprint = ${p.fingerprint} AND status IS NULL`.execute(ctx.db);
}

/** Oldest expiry first, `limit` at a time (the index `idempotency_keys_expiry`). */
export async function deleteExpiredIdempotencyKeys(ctx: SqlContext, p: { before: number; limit: number }): Promise<number> {
  // A derived table of the keys: MySQL can neither read the table a DELETE deletes from in a subquery nor take LIMIT in an IN subquery.
  const victims = sql`(scope, idem_key) IN (SELECT scope, idem_key FROM (SELECT scope, idem_key FROM idempotency_keys
    WHERE expires_at < ${p.before} ORDER BY expires_at LIMIT ${p.limit}) AS expired)`;
  return affected(ctx.db, sql`DELETE FROM idempotency_keys WHERE ${victims}`);
}
