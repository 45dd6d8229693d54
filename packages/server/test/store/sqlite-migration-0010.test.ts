/**
 * SQLite migration 0010 rebuilds `api_tokens` (SQLite cannot alter a CHECK constraint) to accept
 * the roles `operator` and `executor` and to add `expires_at`. The tokens of an older database
 * must come out as they were, still found by their secret, none of them expiring.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Kysely, SqliteDialect } from 'kysely';
import { Migrator } from 'kysely/migration';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { audit, T0, tokenRecord } from '../../src/store/conformance/fixtures.ts';
import { SQLITE_MIGRATIONS } from '../../src/store/sqlite/migrations/index.ts';
import { NodeSqliteDatabase } from '../../src/store/sqlite/node-sqlite-database.ts';
import { dumpSqliteSchema } from '../../src/store/sqlite/schema-dump.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ecron-sqlite-0010-'));
  path = join(dir, 'ecron.db');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Migrates `db` up to and including `last`, as an older ecron did. */
async function migrateUpTo(db: DatabaseSync, last: string): Promise<void> {
  const names = Object.keys(SQLITE_MIGRATIONS).sort().filter((name) => name <= last);
  const kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new NodeSqliteDatabase(db) }) });
  const migrator = new Migrator({ db: kysely, provider: { getMigrations: async () => Object.fromEntries(names.map((name) => [name, SQLITE_MIGRATIONS[name]!])) } });
  const { error } = await migrator.migrateToLatest();
  if (error !== undefined) throw error;
}

const OLD_TOKENS = [
  ['01900000-0000-7000-8000-0000000000a1', 'admin', 'admin', '["*"]', 'a'.repeat(64), T0, T0 + 5000, null],
  ['01900000-0000-7000-8000-0000000000a2', 'ci', 'editor', '["default","billing"]', 'b'.repeat(64), T0 + 1, null, null],
  ['01900000-0000-7000-8000-0000000000a3', 'old-reader', 'viewer', '["default"]', 'c'.repeat(64), T0 + 2, T0 + 3, T0 + 4],
] as const;

describe('sqlite migration 0010_token_expiry', () => {
  it('keeps every token of an older database, none of them expiring, and then takes the new roles and expiries', async () => {
    const db = new DatabaseSync(path, { enableForeignKeyConstraints: false }); // as migrate.ts runs migrations (0004 rebuilds runs)
    await migrateUpTo(db, '0009_namespaces');
    const insert = db.prepare(`INSERT INTO api_tokens (id, name, role, namespaces, secret_hash, created_at, last_used_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`);
    for (const row of OLD_TOKENS) insert.run(...row);
    expect(() => insert.run('01900000-0000-7000-8000-0000000000a4', 'x', 'operator', '["*"]', 'd'.repeat(64), T0, null, null)).toThrow(/CHECK constraint failed/);
    db.close();

    const store = createSqliteStore({ path });
    await store.open();
    try {
      const expected = OLD_TOKENS.map(([id, name, role, namespaces, secretHash, createdAt, lastUsedAt, revokedAt]) => ({
        id, name, role, namespaces: JSON.parse(namespaces) as string[], groups: null, secretHash, createdAt, lastUsedAt, revokedAt, expiresAt: null,
      }));
      expect(await store.listTokens()).toEqual(expected);
      expect(await store.findTokenByHash('b'.repeat(64))).toEqual(expected[1]);
      const operator = tokenRecord({ createdAt: T0 + 10, name: 'nightly', role: 'operator', expiresAt: T0 + 86_400_000 });
      const executor = tokenRecord({ createdAt: T0 + 11, name: 'node', role: 'executor' });
      for (const token of [operator, executor]) expect(await store.createToken({ token, audit: audit('token.create') })).toEqual(token);
      expect((await store.listTokens()).map((t) => t.name)).toEqual(['admin', 'ci', 'old-reader', 'nightly', 'node']);
    } finally {
      await store.close();
    }

    const after = new DatabaseSync(path, { readOnly: true });
    try {
      expect(after.prepare('PRAGMA integrity_check').all()).toEqual([{ integrity_check: 'ok' }]);
      expect(after.prepare(`SELECT count(*) AS n FROM sqlite_schema WHERE name = 'api_tokens_new'`).get()).toEqual({ n: 0 });
      // The upgraded schema is the one a fresh database gets.
      const ddl = (after.prepare(`SELECT sql FROM sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid`).all() as { sql: string }[])
        .map((row) => `${row.sql};`).join('\n\n');
      expect((await dumpSqliteSchema()).endsWith(`\n${ddl}\n`)).toBe(true);
      // The unique secret hash came along with the table.
      expect(after.prepare(`SELECT count(*) AS n FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'api_tokens'`).get()).toEqual({ n: 2 });
    } finally {
      after.close();
    }
  });
});
