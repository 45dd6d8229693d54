/**
 * A database server of the chaos run's own, to restart mid-run without disturbing anyone else's
 * tests on the machine's shared PostgreSQL and MariaDB: a fresh PostgreSQL 15 cluster (initdb into
 * a temporary directory, run as the `postgres` OS user when this runs as root) or a fresh MariaDB
 * (mariadb-install-db, mariadbd with grant tables off: nothing but 127.0.0.1 reaches it). Both
 * listen on 127.0.0.1 only, and are stopped and deleted when the run exits, however it exits.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { adminStatement } from '../../packages/server/scripts/scratch-sql-store.ts';
import { atExit, sleep, spawnTracked, stopChild } from '../lib/children.ts';

export interface PrivateDb {
  /** The server's URL (no scratch schema or database yet). */
  url: string;
  describe: string;
  /** Restarts the server; returns when it went down and when it accepted connections again. */
  restart(): Promise<{ downAt: number; upAt: number }>;
  stop(): Promise<void>;
}

const PG_BIN = '/usr/lib/postgresql/15/bin';

/** Runs a command, as `user` when this process is root (PostgreSQL refuses to run as root). */
function runAs(user: string | null, command: string, args: string[]): string {
  const [file, argv] = user ? ['runuser', ['-u', user, '--', command, ...args]] : [command, args];
  return execFileSync(file, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Polls the server until it answers a query. */
async function waitUntilUp(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await adminStatement(url, 'SELECT 1');
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`the private database at ${url} did not come up within ${timeoutMs} ms: ${(error as Error).message}`, { cause: error });
      await sleep(100);
    }
  }
}

/**
 * initdb + pg_ctl start on `port`. `mode` is pg_ctl's shutdown mode for restarts: `fast` (clients
 * disconnected, a checkpoint) or `immediate` (no checkpoint: crash recovery on start).
 */
export async function startPrivatePostgres(port: number, mode: 'fast' | 'immediate' = 'fast'): Promise<PrivateDb> {
  const user = userInfo().uid === 0 ? 'postgres' : null;
  const dir = mkdtempSync(join(tmpdir(), 'ecron-chaos-pg-'));
  if (user) {
    const id = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
    chownSync(dir, id, gid);
  }
  const data = join(dir, 'data');
  const log = join(dir, 'postgres.log');
  let running = false;
  atExit(() => {
    if (running) {
      try {
        runAs(user, `${PG_BIN}/pg_ctl`, ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // already stopped
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });
  runAs(user, `${PG_BIN}/initdb`, ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200`;
  runAs(user, `${PG_BIN}/pg_ctl`, ['-D', data, '-o', options, '-l', log, '-w', 'start']);
  running = true;
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  await waitUntilUp(url, 30_000);
  return {
    url,
    describe: `private PostgreSQL 15 on port ${port} (${data}), restarted with pg_ctl restart -m ${mode}`,
    async restart() {
      const downAt = Date.now();
      runAs(user, `${PG_BIN}/pg_ctl`, ['-D', data, '-m', mode, '-l', log, '-w', 'restart']);
      await waitUntilUp(url, 30_000);
      return { downAt, upAt: Date.now() };
    },
    async stop() {
      if (!running) return;
      runAs(user, `${PG_BIN}/pg_ctl`, ['-D', data, '-m', 'fast', '-w', 'stop']);
      running = false;
    },
  };
}

/** mariadb-install-db + mariadbd on `port`; a restart is SIGTERM (a clean shutdown) and a new mariadbd. */
export async function startPrivateMariadb(port: number): Promise<PrivateDb> {
  const user = userInfo().uid === 0 ? 'mysql' : null;
  const dir = mkdtempSync(join(tmpdir(), 'ecron-chaos-mariadb-'));
  const data = join(dir, 'data');
  atExit(() => rmSync(dir, { recursive: true, force: true }));
  if (user) execFileSync('chown', [`${user}:${user}`, dir]);
  execFileSync('mariadb-install-db', ['--no-defaults', `--datadir=${data}`, ...(user ? [`--user=${user}`] : []), '--auth-root-authentication-method=normal', '--skip-test-db'], { stdio: 'ignore' });
  const args = ['--no-defaults', `--datadir=${data}`, `--port=${port}`, '--bind-address=127.0.0.1', `--socket=${join(dir, 'mariadb.sock')}`,
    '--skip-grant-tables', '--skip-name-resolve', '--max-connections=300', `--log-error=${join(dir, 'error.log')}`, ...(user ? [`--user=${user}`] : [])];
  let child: ChildProcess | null = null;
  const url = `mysql://root@127.0.0.1:${port}/mysql`;
  const launch = async () => {
    child = spawnTracked('mariadbd', args, { stdio: 'ignore' });
    await waitUntilUp(url, 60_000);
  };
  await launch();
  return {
    url,
    describe: `private MariaDB on port ${port} (${data}), restarted with SIGTERM and a new mariadbd`,
    async restart() {
      const downAt = Date.now();
      if (child) await stopChild(child, 'SIGTERM', 60_000);
      await launch();
      return { downAt, upAt: Date.now() };
    },
    async stop() {
      if (child) await stopChild(child, 'SIGTERM', 30_000);
      child = null;
    },
  };
}

/** Starts a private server of `kind` (see above). */
export function startPrivateDb(kind: 'postgres' | 'mysql', port: number, pgMode: 'fast' | 'immediate'): Promise<PrivateDb> {
  return kind === 'postgres' ? startPrivatePostgres(port, pgMode) : startPrivateMariadb(port);
}
