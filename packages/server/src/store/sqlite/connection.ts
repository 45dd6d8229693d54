/**
 * One `node:sqlite` connection: opening with the process lock, the statement cache and
 * transactions. Every verb of the SQLite store runs synchronously from BEGIN to COMMIT, so two
 * verbs never interleave on the connection even when callers run them concurrently.
 */
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { EcronError } from '../../core/errors.ts';

/** How long opening waits for another process's lock before failing: short, the holder keeps it. */
const LOCK_WAIT_MS = 200;
/** Busy timeout once open. The lock is exclusive, so this only matters in exotic setups. */
const BUSY_TIMEOUT_MS = 5000;

const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;
/**
 * Primary result codes meaning the database itself cannot serve (full disk, I/O failure, file
 * replaced or corrupt), as opposed to a bad statement or a constraint a caller broke.
 */
const UNAVAILABLE_CODES = new Set([SQLITE_BUSY, SQLITE_LOCKED, 8 /* READONLY */, 10 /* IOERR */, 11 /* CORRUPT */, 13 /* FULL */, 14 /* CANTOPEN */, 26 /* NOTADB */]);

function primaryCode(error: unknown): number | null {
  const code = (error as { errcode?: unknown } | null)?.errcode;
  return typeof code === 'number' ? code & 0xff : null;
}

function isBusyError(error: unknown): boolean {
  const code = primaryCode(error);
  return code === SQLITE_BUSY || code === SQLITE_LOCKED;
}

/** STORE_UNAVAILABLE for errors of the database itself; anything else unchanged. */
export function classifySqliteError(error: unknown, path: string): unknown {
  const code = primaryCode(error);
  if (code === null || !UNAVAILABLE_CODES.has(code)) return error;
  return new EcronError('STORE_UNAVAILABLE', `the SQLite store ${path} failed: ${(error as Error).message}`, { sqliteCode: (error as { errcode: number }).errcode });
}

export class SqliteConnection {
  readonly db: DatabaseSync;
  readonly #statements = new Map<string, StatementSync>();

  constructor(db: DatabaseSync) {
    this.db = db;
  }

  /** A prepared statement, cached by its SQL text for the life of the connection. */
  statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs `fn` in `BEGIN IMMEDIATE … COMMIT`, rolling back when it throws. */
  transaction<T>(fn: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const result = fn();
      this.db.exec('COMMIT');
      return result;
    } catch (error) {
      if (this.db.isTransaction) this.db.exec('ROLLBACK');
      throw error;
    }
  }

  close(): void {
    this.#statements.clear();
    if (this.db.isOpen) this.db.close();
  }
}

/** The store holds group secrets and target credentials: only the server's user may read its files. */
const PRIVATE_FILE_MODE = 0o600;
/** Files SQLite keeps next to the database: its write-ahead log, shared memory, rollback journal. */
const COMPANION_SUFFIXES = ['-wal', '-shm', '-journal'];

/**
 * Gives the database file mode 0600 before SQLite opens it: creates it empty (SQLite takes an
 * empty file for a new database) or narrows an existing one (an older version created it 0644).
 * SQLite creates its -wal, -shm and -journal files with the mode of the database file, whatever
 * the umask, so they follow; ones left by a crash keep theirs, and are narrowed here too.
 */
function makeStoreFilesPrivate(path: string): void {
  closeSync(openSync(path, 'a', PRIVATE_FILE_MODE));
  for (const file of [path, ...COMPANION_SUFFIXES.map((suffix) => path + suffix)]) {
    if (existsSync(file)) chmodSync(file, PRIVATE_FILE_MODE);
  }
}

/**
 * Opens the database at `path` (or `:memory:`) for this process alone. Its files get mode 0600
 * (see {@link makeStoreFilesPrivate}).
 *
 * `locking_mode=EXCLUSIVE` makes SQLite keep the file lock after the first write, and the empty
 * `BEGIN EXCLUSIVE; COMMIT` is that write: from then on a second process cannot even read the
 * file, so it fails here with STORE_LOCKED instead of corrupting the schedule. The OS drops the
 * lock when this process exits, however it exits, so a restart after `kill -9` opens normally.
 */
export function openSqliteConnection(path: string): SqliteConnection {
  let db: DatabaseSync;
  try {
    if (path !== ':memory:') makeStoreFilesPrivate(path);
    db = new DatabaseSync(path, { timeout: LOCK_WAIT_MS, enableForeignKeyConstraints: true });
  } catch (error) {
    throw new EcronError('STORE_UNAVAILABLE', `cannot open the SQLite store ${path}: ${(error as Error).message}`);
  }
  try {
    db.exec('PRAGMA locking_mode = EXCLUSIVE');
    // WAL without shared memory (exclusive mode): fast commits, and readers never block the writer.
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('BEGIN EXCLUSIVE; COMMIT');
  } catch (error) {
    db.close();
    if (isBusyError(error)) throw new EcronError('STORE_LOCKED', `the store ${path} is in use by another ecron process`, { path });
    throw new EcronError('STORE_UNAVAILABLE', `cannot open the SQLite store ${path}: ${(error as Error).message}`);
  }
  // NORMAL in WAL mode: a power loss may lose the last commits but never corrupts the file.
  db.exec('PRAGMA synchronous = NORMAL');
  db.exec('PRAGMA foreign_keys = ON');
  // 64 MiB of page cache (the default is 2 MiB): a large fire batch touches many index pages.
  db.exec('PRAGMA cache_size = -65536');
  // A checkpoint every 10,000 WAL pages (40 MiB; the default is 1,000): under a stream of small
  // commits (fires, ends, sent marks) each checkpoint copies and syncs pages on the event loop.
  db.exec('PRAGMA wal_autocheckpoint = 10000');
  db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  return new SqliteConnection(db);
}
