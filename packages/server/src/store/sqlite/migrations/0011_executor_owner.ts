/**
 * Executor nodes belong to a namespace and to the credential that registered them (issue 17, F1):
 * `namespace` (the group's namespace; rows of older releases are in `default`) and `owner` (the
 * registering token's actor; null for older rows, claimed by the node's next heartbeat). As the
 * SQL stores' `0011_executor_owner`.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE executor_nodes ADD COLUMN namespace TEXT NOT NULL DEFAULT 'default'`.execute(db);
  await sql`ALTER TABLE executor_nodes ADD COLUMN owner TEXT`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE executor_nodes DROP COLUMN owner`.execute(db);
  await sql`ALTER TABLE executor_nodes DROP COLUMN namespace`.execute(db);
}
