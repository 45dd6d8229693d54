/**
 * The cluster protocol's state (see `scheduler/bucket-leases.ts`): each task's bucket, the nodes
 * of the cluster and the bucket leases. SQLite serves one scheduler process, which registers and
 * leases every bucket like any node, so that one code path serves every store.
 */
import { sql, type Kysely } from 'kysely';
import { bucketOf } from '../../../core/buckets.ts';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE tasks ADD COLUMN bucket INTEGER NOT NULL DEFAULT 0`.execute(db);
  // The scheduler node supervising a run; runs left by an older version have none and are adopted.
  await sql`ALTER TABLE runs ADD COLUMN owner TEXT`.execute(db);
  // When an attempt went out; null while only recorded. Attempts of older versions count as sent.
  await sql`ALTER TABLE attempts ADD COLUMN sent_at INTEGER`.execute(db);
  await sql`UPDATE attempts SET sent_at = started_at`.execute(db);
  const { rows } = await sql<{ id: string }>`SELECT id FROM tasks`.execute(db);
  for (const { id } of rows) await sql`UPDATE tasks SET bucket = ${bucketOf(id)} WHERE id = ${id}`.execute(db);
  await sql.raw(`CREATE TABLE cluster_nodes (
  id TEXT PRIMARY KEY NOT NULL,
  address TEXT,
  roles TEXT NOT NULL, -- JSON array
  version TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  heartbeat_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT`).execute(db);
  await sql.raw(`CREATE TABLE cluster_secrets (
  name TEXT PRIMARY KEY NOT NULL,
  value TEXT NOT NULL
) STRICT`).execute(db);
  await sql.raw(`CREATE TABLE bucket_leases (
  bucket INTEGER PRIMARY KEY NOT NULL,
  owner TEXT NOT NULL,
  epoch INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) STRICT`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE bucket_leases`.execute(db);
  await sql`DROP TABLE cluster_secrets`.execute(db);
  await sql`DROP TABLE cluster_nodes`.execute(db);
  await sql`ALTER TABLE attempts DROP COLUMN sent_at`.execute(db);
  await sql`ALTER TABLE runs DROP COLUMN owner`.execute(db);
  await sql`ALTER TABLE tasks DROP COLUMN bucket`.execute(db);
}
