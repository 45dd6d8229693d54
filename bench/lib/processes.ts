/**
 * Starts the two processes a benchmark drives: an ecron server in a fresh temporary data dir on a
 * free loopback port, and the benchmark executor (bench/executor.ts). Both only listen on
 * 127.0.0.1 and are killed when the benchmark exits (see children.ts).
 */
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { request } from 'undici';
import { atExit, isStopping, sleep, spawnTracked, stopChild } from './children.ts';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/**
 * The server under test; ECRON_BENCH_BIN points at another checkout's bin/ecron.js (A/B comparisons).
 * Read at each start, not at import, so that a script may set it after its imports.
 */
const ecronBin = (): string => (process.env.ECRON_BENCH_BIN ? resolve(process.env.ECRON_BENCH_BIN) : join(REPO_ROOT, 'packages/server/bin/ecron.js'));
const EXECUTOR = join(REPO_ROOT, 'bench/executor.ts');

export interface ServerHandle {
  url: string;
  port: number;
  dataDir: string;
  token: string;
  signingKey: string;
  child: ChildProcess;
  /** Last lines the server wrote to stderr/stdout (warnings, errors). */
  output(): string;
  /** SIGTERM (the server drains), SIGKILL after the grace; removes the data dir unless kept. */
  stop(options?: { graceMs?: number }): Promise<void>;
  /** Sends `signal` (SIGKILL, SIGSTOP, SIGCONT…) without reporting the exit it may cause. */
  signal(signal: NodeJS.Signals): void;
}

export interface ServerOptions {
  /** Extra node flags for the server, e.g. ['--cpu-prof', '--cpu-prof-dir=DIR']. */
  nodeArgs?: string[];
  logLevel?: string;
  /** Keep the data dir after stopping (to inspect the database, or to start a server on it again). */
  keepDataDir?: boolean;
  /** Start on this existing data dir (a restart) instead of a fresh temporary one. */
  dataDir?: string;
  /** Extra `ecron start` arguments, e.g. ['--store', 'postgres://…']. */
  args?: string[];
  /**
   * The admin token's secret, passed as ECRON_ADMIN_TOKEN (a cluster: the first node creates it,
   * the others find it in the store). @default none: the server writes DATA_DIR/admin.token
   */
  adminToken?: string;
  /** Appends everything the server writes to this file (default: ECRON_BENCH_SERVER_LOG, if set). */
  logFile?: string;
  /** How long /healthz and /readyz may take to answer 200. @default 30000 */
  readyTimeoutMs?: number;
  /** Listen on this port (a restart on the same address, for executors that know it). @default a free port */
  port?: number;
}

/** A free TCP port on 127.0.0.1 (asked of the OS; a tiny race with other processes is possible). */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** Keeps the last `max` characters a child writes, for error messages. */
function captureOutput(child: ChildProcess, max = 8000): () => string {
  let text = '';
  const keep = (chunk: Buffer) => {
    text = (text + chunk.toString('utf8')).slice(-max);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => text;
}

async function getStatus(url: string): Promise<number> {
  try {
    const response = await request(url, { method: 'GET', headersTimeout: 2000, bodyTimeout: 2000 });
    await response.body.dump();
    return response.statusCode;
  } catch {
    return 0;
  }
}

/** Polls `url` until it answers 200; fails when the child exits or after `timeoutMs`. */
async function waitFor200(url: string, child: ChildProcess, output: () => string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the process exited (${child.exitCode ?? child.signalCode}) before ${url} answered:\n${output()}`);
    }
    if ((await getStatus(url)) === 200) return;
    await sleep(100);
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms:\n${output()}`);
}

/** A child that exits while the benchmark still needs it is reported on stderr at once. */
function reportUnexpectedExit(child: ChildProcess, name: string, stopping: () => boolean, output: () => string): void {
  child.once('exit', (code, signal) => {
    if (!stopping() && !isStopping()) process.stderr.write(`bench: the ${name} (pid ${child.pid}) exited unexpectedly (code ${code}, signal ${signal}):\n${output()}\n`);
  });
}

export function serverBin(): string {
  return ecronBin();
}

export async function startEcronServer(options: ServerOptions = {}): Promise<ServerHandle> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'ecron-bench-'));
  const removeDir = () => {
    if (!options.keepDataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  atExit(removeDir);
  const port = options.port ?? await freePort();
  // ECRON_BENCH_NODE_ARGS adds node flags to the server (e.g. "--trace-gc"); ECRON_BENCH_SERVER_LOG
  // copies everything the server writes to a file.
  const extraNodeArgs = (process.env.ECRON_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawnTracked(process.execPath, [
    ...extraNodeArgs, ...(options.nodeArgs ?? []), ecronBin(), 'start', '--data-dir', dataDir, '--port', String(port), '--host', '127.0.0.1',
    '--log-level', options.logLevel ?? 'warn', ...(options.args ?? []),
  ], { cwd: REPO_ROOT, env: { ...process.env, ECRON_ADMIN_TOKEN: options.adminToken, ECRON_SIGNING_KEY: undefined } });
  const output = captureOutput(child);
  const logFile = options.logFile ?? process.env.ECRON_BENCH_SERVER_LOG;
  if (logFile) {
    const log = createWriteStream(logFile, { flags: 'a' });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
  }
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor200(`${url}/healthz`, child, output, options.readyTimeoutMs ?? 30_000);
    await waitFor200(`${url}/readyz`, child, output, options.readyTimeoutMs ?? 30_000);
  } catch (error) {
    child.kill('SIGKILL'); // not ready: it must not linger as a half-started server
    throw error;
  }
  let stopping = false;
  reportUnexpectedExit(child, 'server', () => stopping, output);
  const token = options.adminToken ?? readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
  // A server on a shared (PostgreSQL/MySQL) store keeps its keys in the store, not in the data dir.
  const signingKey = existsSync(join(dataDir, 'signing.key')) ? readFileSync(join(dataDir, 'signing.key'), 'utf8').trim() : '';
  return {
    url, port, dataDir, token, signingKey, child, output,
    // A profiled server writes its .cpuprofile on exit, after draining: give it time.
    async stop({ graceMs = options.nodeArgs?.includes('--cpu-prof') ? 120_000 : 15_000 } = {}) {
      stopping = true;
      await stopChild(child, 'SIGTERM', graceMs);
      removeDir();
    },
    signal(signal) {
      if (signal === 'SIGKILL' || signal === 'SIGTERM') stopping = true;
      child.kill(signal);
    },
  };
}

export interface ExecutorHandle {
  url: string;
  /** Where tasks point: `${url}/run`. */
  runUrl: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts bench/executor.ts in its own process and waits for its port. */
export async function startBenchExecutor(options: { verifyKeyFile?: string; trackStatus?: boolean } = {}): Promise<ExecutorHandle> {
  const args = ['--port', '0'];
  if (options.verifyKeyFile) args.push('--verify-key-file', options.verifyKeyFile);
  if (options.trackStatus) args.push('--track-status');
  const child = spawnTracked(process.execPath, [EXECUTOR, ...args], { cwd: REPO_ROOT });
  const output = captureOutput(child);
  const port = await new Promise<number>((resolvePort, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`the executor did not start within 15 s:\n${output()}`)), 15_000);
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const match = /"listening":\s*(\d+)/.exec(buffered);
      if (!match) return;
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      resolvePort(Number(match[1]));
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the executor exited (${code}) before listening:\n${output()}`));
    });
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor200(`${url}/healthz`, child, output, 10_000);
  let stopping = false;
  reportUnexpectedExit(child, 'executor', () => stopping, output);
  return { url, runUrl: `${url}/run`, child, stop: async () => { stopping = true; await stopChild(child, 'SIGTERM', 5000); } };
}
