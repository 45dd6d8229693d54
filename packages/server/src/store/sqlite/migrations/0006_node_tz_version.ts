/**
 * The tz database version of each node (`cluster_nodes.tz_version`, `process.versions.tz`): nodes
 * whose version differs from the cluster's take no buckets (`core/cluster-tz-version.ts`). Null
 * for a node that reports none; rows of older releases are left null and rewritten at their next
 * heartbeat. As the SQL stores' `0006_node_tz_version`.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE cluster_nodes ADD COLUMN tz_version TEXT`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE cluster_nodes DROP COLUMN tz_version`.execute(db);
}
