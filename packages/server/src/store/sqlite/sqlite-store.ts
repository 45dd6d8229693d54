/**
 * The embedded store: SQLite through the built-in `node:sqlite`, for one ecron process. A second
 * process opening the same file fails with STORE_LOCKED (see `connection.ts`).
 *
 * Every verb runs synchronously on the single connection, from BEGIN to COMMIT, so concurrent
 * calls from the same process are serialised by the event loop and never see each other's
 * half-done work.
 */
import { EcronError } from '../../core/errors.ts';
import type { Store } from '../store.ts';
import { openSqliteConnection, type SqliteConnection } from './connection.ts';
import * as fires from './fires.ts';
import { migrateToLatest } from './migrate.ts';
import * as runLogs from './run-logs.ts';
import * as runs from './runs.ts';
import * as tasks from './tasks.ts';
import * as tokensAudit from './tokens-audit.ts';

export interface SqliteStoreOptions {
  /** The database file, created if missing; `:memory:` for a private in-memory store (tests). */
  path: string;
}

class SqliteStore implements Store {
  readonly #path: string;
  #connection: SqliteConnection | null = null;
  #opening: Promise<void> | null = null;

  constructor(options: SqliteStoreOptions) {
    this.#path = options.path;
  }

  get #conn(): SqliteConnection {
    if (this.#connection === null) throw new EcronError('STORE_UNAVAILABLE', `the store ${this.#path} is not open`);
    return this.#connection;
  }

  open(): Promise<void> {
    this.#opening ??= this.#open().catch((error: unknown) => {
      this.#opening = null;
      throw error;
    });
    return this.#opening;
  }

  async #open(): Promise<void> {
    const connection = openSqliteConnection(this.#path);
    try {
      await migrateToLatest(connection.db);
    } catch (error) {
      connection.close();
      throw error;
    }
    this.#connection = connection;
  }

  async close(): Promise<void> {
    await this.#opening?.catch(() => undefined);
    this.#connection?.close();
    this.#connection = null;
    this.#opening = null;
  }

  async now(): Promise<number> {
    const row = this.#conn.statement(`SELECT CAST(round(unixepoch('subsec') * 1000) AS INTEGER) AS now`).get() as { now: number };
    return row.now;
  }

  // ---- tasks
  createTask: Store['createTask'] = async (p) => tasks.createTask(this.#conn, p);
  getTask: Store['getTask'] = async (id) => tasks.getTask(this.#conn, id);
  getTaskByName: Store['getTaskByName'] = async (namespace, name) => tasks.getTaskByName(this.#conn, namespace, name);
  listTasks: Store['listTasks'] = async (p) => tasks.listTasks(this.#conn, p);
  updateTask: Store['updateTask'] = async (p) => tasks.updateTask(this.#conn, p);
  setTaskState: Store['setTaskState'] = async (p) => tasks.setTaskState(this.#conn, p);
  deleteTask: Store['deleteTask'] = async (p) => tasks.deleteTask(this.#conn, p);
  listTaskRevisions: Store['listTaskRevisions'] = async (taskId) => tasks.listTaskRevisions(this.#conn, taskId);

  // ---- scheduling
  listDueTasks: Store['listDueTasks'] = async (p) => fires.listDueTasks(this.#conn, p);
  recordFires: Store['recordFires'] = async (list) => fires.recordFires(this.#conn, list);
  createRun: Store['createRun'] = async (p) => fires.createRun(this.#conn, p);

  // ---- runs
  getRun: Store['getRun'] = async (id) => runs.getRun(this.#conn, id);
  listRuns: Store['listRuns'] = async (p) => runs.listRuns(this.#conn, p);
  listAttempts: Store['listAttempts'] = async (runIds) => runs.listAttempts(this.#conn, runIds);
  listActiveRuns: Store['listActiveRuns'] = async (p) => runs.listActiveRuns(this.#conn, p);
  startAttempts: Store['startAttempts'] = async (items) => runs.startAttempts(this.#conn, items);
  markRunning: Store['markRunning'] = async (p) => runs.markRunning(this.#conn, p);
  finishAttempts: Store['finishAttempts'] = async (items) => runs.finishAttempts(this.#conn, items);
  finishRun: Store['finishRun'] = async (p) => runs.finishRun(this.#conn, p);
  acceptReport: Store['acceptReport'] = async (p) => runs.acceptReport(this.#conn, p);
  appendRunLogs: Store['appendRunLogs'] = async (lines) => runLogs.appendRunLogs(this.#conn, lines);
  listRunLogs: Store['listRunLogs'] = async (p) => runLogs.listRunLogs(this.#conn, p);

  // ---- tokens and audit
  createToken: Store['createToken'] = async (p) => tokensAudit.createToken(this.#conn, p);
  findTokenByHash: Store['findTokenByHash'] = async (secretHash) => tokensAudit.findTokenByHash(this.#conn, secretHash);
  listTokens: Store['listTokens'] = async () => tokensAudit.listTokens(this.#conn);
  countTokens: Store['countTokens'] = async () => tokensAudit.countTokens(this.#conn);
  revokeToken: Store['revokeToken'] = async (p) => tokensAudit.revokeToken(this.#conn, p);
  touchToken: Store['touchToken'] = async (p) => tokensAudit.touchToken(this.#conn, p);
  appendAudit: Store['appendAudit'] = async (entry) => tokensAudit.appendAudit(this.#conn, entry);
  listAudit: Store['listAudit'] = async (p) => tokensAudit.listAudit(this.#conn, p);
}

/** A SQLite store. Call `open()` before any other verb; it migrates and takes the process lock. */
export function createSqliteStore(options: SqliteStoreOptions): Store {
  return new SqliteStore(options);
}
