/**
 * Indexes for finding tasks by name (`GET /api/v1/tasks?name=…` and `?q=…`), which scanned every
 * task before (2.5-5.9 s on a million; docs/benchmarks.md, "Cluster on PostgreSQL"):
 *
 * - `tasks_by_name (name, namespace)`: an exact name is one range, already in list order (the
 *   namespace follows); a prefix (`name LIKE 'abc%'`, byte order under `COLLATE "C"`) too.
 * - `tasks_name_trgm`: a GIN trigram index (pg_trgm) on `name`, which serves `name ILIKE '%q%'`
 *   (the substring search) when `q` holds three letters or digits in a row.
 *
 * pg_trgm is an extension of the whole database, not of one schema, while ecron's tables live in
 * one schema that tests and users may drop with CASCADE (which would drop an extension created in
 * it, and the indexes of every other schema that use it). So the extension is used where it is
 * already installed, or created in `public` if it is not: it ships with PostgreSQL (contrib), and is
 * "trusted", so a user with CREATE on the database may create it. Migrations of several schemas at
 * once serialise on a transaction-level advisory lock here. When it cannot be created (not
 * installed on the server, no privilege, no `public`), the migration goes on without the trigram
 * index: the substring search then reads every name (correct, slow). An administrator can add it
 * later: `CREATE EXTENSION pg_trgm; CREATE INDEX tasks_name_trgm ON <schema>.tasks USING gin (name
 * public.gin_trgm_ops);`.
 *
 * Cost on a million tasks: ~20 MiB (trigram) and ~40 MiB (by name), a few seconds to build while
 * `tasks` is locked against writes, and entries in both for every new row version that is not a
 * HOT update, which includes each fire's update of `next_fire_at` (`tasks_due` covers it, as
 * `0003` notes). The trigram index keeps GIN's `fastupdate`: those entries go to its pending list,
 * merged into the index by autovacuum or when the list reaches `gin_pending_list_limit`.
 */
import { sql, type Kysely } from 'kysely';

/** Key of the advisory lock under which the extension is looked up and created. */
const EXTENSION_LOCK = sql`hashtext('ecron.extension.pg_trgm')`;

/** The schema holding pg_trgm, creating the extension in `public` if needed; null when it cannot. */
async function trigramSchema(db: Kysely<unknown>): Promise<string | null> {
  await sql`SELECT pg_advisory_xact_lock(${EXTENSION_LOCK})`.execute(db);
  const installed = async () => (await sql<{ schema: string }>`SELECT n.nspname AS schema FROM pg_extension e
    JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'`.execute(db)).rows[0]?.schema ?? null;
  const schema = await installed();
  if (schema !== null) return schema;
  // A failed statement aborts the transaction (every pending migration runs in one): a savepoint
  // takes back only this attempt.
  await sql`SAVEPOINT create_pg_trgm`.execute(db);
  try {
    await sql`CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public`.execute(db);
    await sql`RELEASE SAVEPOINT create_pg_trgm`.execute(db);
  } catch {
    await sql`ROLLBACK TO SAVEPOINT create_pg_trgm`.execute(db);
    return null;
  }
  return installed();
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE INDEX tasks_by_name ON tasks (name, namespace)`.execute(db);
  const schema = await trigramSchema(db);
  if (schema !== null) await sql`CREATE INDEX tasks_name_trgm ON tasks USING gin (name ${sql.id(schema)}.gin_trgm_ops)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  // The extension stays: other schemas of the database may use it.
  await sql`DROP INDEX IF EXISTS tasks_name_trgm`.execute(db);
  await sql`DROP INDEX tasks_by_name`.execute(db);
}
