/**
 * As PostgreSQL's `0010_token_expiry`: tokens that expire (`api_tokens.expires_at`, null: never)
 * and the roles `operator` and `executor`.
 *
 * MySQL runs DDL outside transactions, so this migration may be cut short and run again: the
 * column and the new check are added in one ALTER TABLE, each only when it is not there yet. The
 * old role check was declared on the column: MariaDB names it after the column and drops it with
 * the column's definition (MODIFY), MySQL 8 names it `api_tokens_chk_N` and drops it by name; it
 * is found by its text, as `0004_executors` finds that of `runs.status`. The new check is looser
 * than the old, so every existing row satisfies it.
 */
import { sql, type Kysely } from 'kysely';

const TOKEN_ROLES = ['admin', 'editor', 'operator', 'viewer', 'executor'];
const list = (values: readonly string[]): string => values.map((value) => `'${value}'`).join(', ');

async function hasColumn(db: Kysely<unknown>): Promise<boolean> {
  const { rows } = await sql<{ name: string }>`SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS
    WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'api_tokens' AND COLUMN_NAME = 'expires_at'`.execute(db);
  return rows.length > 0;
}

/** The check constraints of `api_tokens`, by name, with their text. */
async function tokenChecks(db: Kysely<unknown>): Promise<Map<string, string[]>> {
  const { rows } = await sql<{ name: string; clause: string }>`SELECT tc.CONSTRAINT_NAME AS name, cc.CHECK_CLAUSE AS clause
    FROM information_schema.TABLE_CONSTRAINTS tc JOIN information_schema.CHECK_CONSTRAINTS cc
      ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME
    WHERE tc.TABLE_SCHEMA = DATABASE() AND tc.TABLE_NAME = 'api_tokens' AND tc.CONSTRAINT_TYPE = 'CHECK'`.execute(db);
  const checks = new Map<string, string[]>();
  for (const row of rows) checks.set(row.name, [...(checks.get(row.name) ?? []), row.clause]);
  return checks;
}

export async function up(db: Kysely<unknown>): Promise<void> {
  const changes: string[] = [];
  if (!await hasColumn(db)) changes.push('ADD COLUMN expires_at BIGINT NULL');
  const checks = await tokenChecks(db);
  if (!checks.has('api_tokens_role')) {
    const old = [...checks].filter(([, clauses]) => clauses.some((clause) => clause.includes("'viewer'")));
    changes.push(...old.map(([name]) => (name === 'role' ? 'MODIFY role VARCHAR(16) NOT NULL' : `DROP CONSTRAINT \`${name}\``)));
    changes.push(`ADD CONSTRAINT api_tokens_role CHECK (role IN (${list(TOKEN_ROLES)}))`);
  }
  if (changes.length > 0) await sql.raw(`ALTER TABLE api_tokens ${changes.join(',\n  ')}`).execute(db);
}

/** Fails while a token has one of the new roles: going down would have to delete credentials. */
export async function down(db: Kysely<unknown>): Promise<void> {
  const changes: string[] = [];
  if (await hasColumn(db)) changes.push('DROP COLUMN expires_at');
  if ((await tokenChecks(db)).has('api_tokens_role')) {
    changes.push('DROP CONSTRAINT api_tokens_role', `ADD CONSTRAINT api_tokens_role_v1 CHECK (role IN (${list(['admin', 'editor', 'viewer'])}))`);
  }
  if (changes.length > 0) await sql.raw(`ALTER TABLE api_tokens ${changes.join(',\n  ')}`).execute(db);
}
