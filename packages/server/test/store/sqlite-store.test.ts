/**
 * What only the SQLite store has: the one-process lock, files on disk, its migrations and the
 * committed schema dump. Everything else is in the conformance suite.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EcronError } from '../../src/core/errors.ts';
import { audit, errorCode, taskRecord } from '../../src/store/conformance/fixtures.ts';
import { classifySqliteError } from '../../src/store/sqlite/connection.ts';
import { SQLITE_MIGRATIONS } from '../../src/store/sqlite/migrations/index.ts';
import { dumpSqliteSchema } from '../../src/store/sqlite/schema-dump.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'ecron-sqlite-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Starts a process holding the store at `path`; resolves once it has opened it. */
function holdStore(path: string): Promise<ChildProcess> {
  const script = fileURLToPath(new URL('./hold-sqlite-store.ts', import.meta.url));
  const child = spawn(process.execPath, [script, path], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.stdout!.on('data', (chunk: Buffer) => { if (chunk.toString().includes('ready')) resolve(child); });
    child.on('exit', (code) => reject(new Error(`the holder exited with ${code}: ${stderr}`)));
  });
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.on('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe('sqlite store', () => {
  it('refuses a second process, and opens again after the first is killed with SIGKILL', async () => {
    const path = join(dir, 'ecron.db');
    const holder = await holdStore(path);
    try {
      const second = createSqliteStore({ path });
      const started = Date.now();
      const error = await second.open().then(() => null, (caught: unknown) => caught);
      expect(error).toBeInstanceOf(EcronError);
      expect(error).toMatchObject({ code: 'STORE_LOCKED', message: `the store ${path} is in use by another ecron process` });
      expect(Date.now() - started).toBeLessThan(5000);
      await second.close();
    } finally {
      await killed(holder);
    }
    const restarted = createSqliteStore({ path });
    await restarted.open();
    expect(await restarted.findTokenByHash('f'.repeat(64))).toMatchObject({ name: 'written-by-child' });
    await restarted.close();
  });

  it('refuses a second store on the same file in the same process until the first closes', async () => {
    const path = join(dir, 'ecron.db');
    const first = createSqliteStore({ path });
    await first.open();
    const second = createSqliteStore({ path });
    expect(await errorCode(second.open())).toBe('STORE_LOCKED');
    await first.close();
    await second.open();
    await second.close();
  });

  it('keeps data across close and open, applying migrations once', async () => {
    const path = join(dir, 'ecron.db');
    const store = createSqliteStore({ path });
    await Promise.all([store.open(), store.open()]);
    const task = await store.createTask({ task: taskRecord(), audit: audit('task.create') });
    await store.close();
    await store.close();
    await store.open();
    expect(await store.getTask(task.id)).toEqual(task);
    await store.close();

    const db = new DatabaseSync(path);
    const applied = db.prepare('SELECT name FROM kysely_migration ORDER BY name').all().map((row) => row.name);
    expect(db.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
    db.close();
    expect(applied).toEqual(Object.keys(SQLITE_MIGRATIONS).sort());
  });

  it('refuses verbs before open and after close', async () => {
    const store = createSqliteStore({ path: ':memory:' });
    expect(await errorCode(store.getTask('x'))).toBe('STORE_UNAVAILABLE');
    await store.open();
    await store.close();
    expect(await errorCode(store.listDueTasks({ until: 0, limit: 1 }))).toBe('STORE_UNAVAILABLE');
  });

  it('fails to open a path it cannot create with STORE_UNAVAILABLE', async () => {
    const store = createSqliteStore({ path: join(dir, 'missing', 'dir', 'ecron.db') });
    expect(await errorCode(store.open())).toBe('STORE_UNAVAILABLE');
  });

  it('reports failures of the database itself as STORE_UNAVAILABLE, and nothing else', () => {
    const sqliteError = (errcode: number) => Object.assign(new Error('sqlite says no'), { code: 'ERR_SQLITE_ERROR', errcode });
    expect(classifySqliteError(sqliteError(13), 'x.db')).toMatchObject({ code: 'STORE_UNAVAILABLE', details: { sqliteCode: 13 } });
    expect(classifySqliteError(sqliteError(10 | (3 << 8)), 'x.db')).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    const constraint = sqliteError(2067);
    expect(classifySqliteError(constraint, 'x.db')).toBe(constraint);
    const plain = new TypeError('not sqlite');
    expect(classifySqliteError(plain, 'x.db')).toBe(plain);
  });

  it('has a committed schema.sql that matches the migrations', async () => {
    const committed = readFileSync(fileURLToPath(new URL('../../src/store/sqlite/schema.sql', import.meta.url)), 'utf8');
    // When this fails: node packages/server/scripts/dump-sqlite-schema.ts
    expect(committed).toBe(await dumpSqliteSchema());
  });
});
