/**
 * Namespaces as resources: one row per namespace whose settings were set (`PUT
 * /api/v1/namespaces/{name}`). Tasks name their namespace without a row here; a namespace without
 * one has the default settings. JSON columns hold only what was set (see `core/namespaces.ts`). As
 * the SQL stores' `0009_namespaces`.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE namespaces (
  name TEXT PRIMARY KEY NOT NULL,
  description TEXT NOT NULL,
  labels TEXT NOT NULL, -- JSON object
  quotas TEXT NOT NULL, -- JSON object: the quotas set (the others take their defaults)
  outbound TEXT NOT NULL, -- JSON object: { allow: [rule…], deny: [rule…] }
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE namespaces`.execute(db);
}
