/**
 * Namespaces as resources: one row per namespace whose settings were set (`PUT
 * /api/v1/namespaces/{name}`). Tasks name their namespace without a row here; a namespace without
 * one has the default settings. JSON columns hold only what was set (see `core/namespaces.ts`). As
 * SQLite's and MySQL's `0009_namespaces`.
 */
import { sql, type Kysely } from 'kysely';

const KEY = 'text COLLATE "C"';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`CREATE TABLE namespaces (
  name ${KEY} NOT NULL,
  description text NOT NULL,
  labels json NOT NULL, -- object
  quotas json NOT NULL, -- object: the quotas set (the others take their defaults)
  outbound json NOT NULL, -- { allow: [rule…], deny: [rule…] }
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  CONSTRAINT namespaces_pkey PRIMARY KEY (name)
)`).execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE namespaces`.execute(db);
}
