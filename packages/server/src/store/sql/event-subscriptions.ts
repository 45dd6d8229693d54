/**
 * Event subscriptions on PostgreSQL and MySQL (see `store/event-subscriptions.ts`). A claim locks
 * the free rows it takes with `FOR UPDATE SKIP LOCKED`, so nodes claiming at once split them
 * rather than wait on each other, and tests the lease again in its UPDATE; an advance locks the
 * subscription's row (`FOR UPDATE`) and compares owner and lease with the database clock read in
 * the same transaction, so a node whose lease lapsed writes nothing.
 */
import { sql, type Kysely } from 'kysely';
import { EcronError } from '../../core/errors.ts';
import type { AdvanceSubscriptionParams, DeadLetterRecord, EventSubscriptionRecord, SubscriptionState } from '../event-subscriptions.ts';
import type { AuditInput } from '../store.ts';
import { toDeadLetter, toSubscription } from '../subscription-rows.ts';
import { dbNow } from './cluster.ts';
import { affected, firstRow, inList, inTransaction, rows, type SqlContext } from './context.ts';
import { auditOf, insertAudit } from './tokens-audit.ts';

const RESOURCE = 'event-subscription';

async function read(db: Kysely<unknown>, id: string, lock = false): Promise<EventSubscriptionRecord | null> {
  const row = await firstRow(db, sql`SELECT * FROM event_subscriptions WHERE id = ${id} ${lock ? sql`FOR UPDATE` : sql``}`);
  return row ? toSubscription(row) : null;
}

function nameTaken(namespace: string, name: string): EcronError {
  return new EcronError('SUBSCRIPTION_NAME_TAKEN', `an event subscription named ${namespace}/${name} exists`, { namespace, name });
}

export async function createSubscription(ctx: SqlContext, p: { subscription: EventSubscriptionRecord; audit: AuditInput }): Promise<EventSubscriptionRecord> {
  const s = p.subscription;
  try {
    return await inTransaction(ctx, async (trx) => {
      if (await firstRow(trx, sql`SELECT id FROM event_subscriptions WHERE namespace = ${s.namespace} AND name = ${s.name}`)) throw nameTaken(s.namespace, s.name);
      await sql`INSERT INTO event_subscriptions (id, namespace, name, type, config, event_filter, state, cursor_seq, owner, lease_expires_at,
        last_error, last_error_at, failures, created_at, updated_at) VALUES (${s.id}, ${s.namespace}, ${s.name}, ${s.type}, ${JSON.stringify(s.config)},
        ${JSON.stringify(s.filter)}, ${s.state}, ${s.cursor}, NULL, NULL, NULL, NULL, 0, ${s.createdAt}, ${s.updatedAt})`.execute(trx);
      await insertAudit(trx, auditOf(p.audit, s.createdAt, RESOURCE, s.id));
      return (await read(trx, s.id))!;
    });
  } catch (error) {
    // Two creates of one name at once: the unique key refuses the second.
    if (!(error instanceof EcronError) && ctx.dialect.uniqueViolation(error) !== null) throw nameTaken(s.namespace, s.name);
    throw error;
  }
}

export async function getSubscription(ctx: SqlContext, id: string): Promise<EventSubscriptionRecord | null> {
  return read(ctx.db, id);
}

export async function listSubscriptions(ctx: SqlContext, p: { namespaces?: readonly string[] | null } = {}): Promise<EventSubscriptionRecord[]> {
  if (p.namespaces !== undefined && p.namespaces !== null && p.namespaces.length === 0) return [];
  const where = p.namespaces === undefined || p.namespaces === null ? sql`` : sql`WHERE ${inList(ctx, 'namespace', p.namespaces)}`;
  return (await rows(ctx.db, sql`SELECT * FROM event_subscriptions ${where} ORDER BY namespace, name`)).map(toSubscription);
}

export async function setSubscriptionState(ctx: SqlContext, p: { id: string; state: SubscriptionState; at: number; audit: AuditInput }): Promise<EventSubscriptionRecord | null> {
  return inTransaction(ctx, async (trx) => {
    const failures = p.state === 'active' ? sql`0` : sql`failures`;
    if (await affected(trx, sql`UPDATE event_subscriptions SET state = ${p.state}, updated_at = ${p.at}, failures = ${failures} WHERE id = ${p.id}`) === 0) {
      // MySQL counts changed rows only: a state set again to what it was is still there.
      if (!(await read(trx, p.id))) return null;
    }
    await insertAudit(trx, auditOf(p.audit, p.at, RESOURCE, p.id));
    return read(trx, p.id);
  });
}

export async function deleteSubscription(ctx: SqlContext, p: { id: string; at: number; audit: AuditInput }): Promise<boolean> {
  return inTransaction(ctx, async (trx) => {
    if (await affected(trx, sql`DELETE FROM event_subscriptions WHERE id = ${p.id}`) === 0) return false;
    await sql`DELETE FROM event_dead_letters WHERE subscription_id = ${p.id}`.execute(trx);
    await insertAudit(trx, auditOf(p.audit, p.at, RESOURCE, p.id));
    return true;
  });
}

export async function claimSubscriptions(ctx: SqlContext, p: { nodeId: string; ttlMs: number; limit: number }): Promise<EventSubscriptionRecord[]> {
  return inTransaction(ctx, async (trx) => {
    const now = await dbNow(ctx, trx);
    const until = now + p.ttlMs;
    await sql`UPDATE event_subscriptions SET lease_expires_at = ${until} WHERE owner = ${p.nodeId} AND state = 'active'`.execute(trx);
    const held = Number((await firstRow<{ n: unknown }>(trx, sql`SELECT count(*) AS n FROM event_subscriptions WHERE owner = ${p.nodeId} AND state = 'active'`))!.n);
    const room = p.limit - held;
    if (room > 0) {
      const free = await rows<{ id: string }>(trx, sql`SELECT id FROM event_subscriptions
        WHERE state = 'active' AND (owner IS NULL OR lease_expires_at <= ${now}) ORDER BY id LIMIT ${room} ${ctx.dialect.forUpdateSkipLocked}`);
      if (free.length > 0) {
        await sql`UPDATE event_subscriptions SET owner = ${p.nodeId}, lease_expires_at = ${until}
          WHERE ${inList(ctx, 'id', free.map((row) => row.id))} AND state = 'active' AND (owner IS NULL OR lease_expires_at <= ${now})`.execute(trx);
      }
    }
    return (await rows(trx, sql`SELECT * FROM event_subscriptions WHERE owner = ${p.nodeId} AND state = 'active' ORDER BY id`)).map(toSubscription);
  });
}

export async function releaseSubscriptions(ctx: SqlContext, p: { nodeId: string }): Promise<void> {
  await sql`UPDATE event_subscriptions SET owner = NULL, lease_expires_at = NULL WHERE owner = ${p.nodeId}`.execute(ctx.db);
}

export async function advanceSubscription(ctx: SqlContext, p: AdvanceSubscriptionParams): Promise<EventSubscriptionRecord | null> {
  return inTransaction(ctx, async (trx) => {
    const current = await read(trx, p.id, true);
    if (current === null || current.owner !== p.nodeId || (current.leaseExpiresAt ?? 0) <= await dbNow(ctx, trx)) return null;
    if (p.deadLetter && p.deadLetter.seq > current.cursor) await insertDeadLetter(trx, p.id, p.deadLetter);
    const cursor = Math.max(current.cursor, p.cursor);
    if (p.failure) {
      await sql`UPDATE event_subscriptions SET cursor_seq = ${cursor}, last_error = ${p.failure.error}, last_error_at = ${p.at},
        failures = ${p.failure.failures} WHERE id = ${p.id}`.execute(trx);
    } else {
      await sql`UPDATE event_subscriptions SET cursor_seq = ${cursor}, failures = 0 WHERE id = ${p.id}`.execute(trx);
    }
    return read(trx, p.id);
  });
}

async function insertDeadLetter(trx: Kysely<unknown>, subscriptionId: string, letter: DeadLetterRecord): Promise<void> {
  // The subscription's row is locked and the cursor below the seq: nobody else writes this letter.
  if (await firstRow(trx, sql`SELECT seq FROM event_dead_letters WHERE subscription_id = ${subscriptionId} AND seq = ${letter.seq}`)) return;
  await sql`INSERT INTO event_dead_letters (subscription_id, seq, event, error, attempts, at)
    VALUES (${subscriptionId}, ${letter.seq}, ${JSON.stringify(letter.event)}, ${letter.error}, ${letter.attempts}, ${letter.at})`.execute(trx);
}

export async function listDeadLetters(ctx: SqlContext, p: { subscriptionId: string; after?: number; limit: number }): Promise<DeadLetterRecord[]> {
  return (await rows(ctx.db, sql`SELECT * FROM event_dead_letters WHERE subscription_id = ${p.subscriptionId} AND seq > ${p.after ?? 0}
    ORDER BY seq LIMIT ${p.limit}`)).map(toDeadLetter);
}

export async function deleteDeadLetters(ctx: SqlContext, p: { subscriptionId: string; seqs: readonly number[] }): Promise<number> {
  if (p.seqs.length === 0) return 0;
  return affected(ctx.db, sql`DELETE FROM event_dead_letters WHERE subscription_id = ${p.subscriptionId} AND ${inList(ctx, 'seq', p.seqs, 'bigint')}`);
}
