/**
 * SDK executor processes (bench/sdk-executor.ts) driven over an IPC channel: start one, ask for
 * its counts and records, stop it. Every process is tracked by children.ts (killed by its pid
 * when the benchmark exits).
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Received } from './api.ts';
import { sleep, spawnTracked, stopChild } from './children.ts';
import { REPO_ROOT } from './processes.ts';

const SCRIPT = join(REPO_ROOT, 'bench/sdk-executor.ts');

export interface SdkExecutorOptions {
  server: string;
  token: string;
  group: string;
  id: string;
  mode: 'push' | 'pull' | 'stream';
  /** Pull mode: the SDK's maxConcurrency (undefined: its default). */
  maxConcurrency?: number;
  /** Extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir=DIR']. */
  nodeArgs?: string[];
  /**
   * The SDK's entry module (e.g. a frozen copy's packages/sdk/src/index.ts, see snapshot.ts).
   * @default the working tree's `@ecron/sdk`
   */
  sdk?: string;
}

interface Columns {
  at: number[];
  scheduledAt: number[];
  taskId: string[];
  runId: string[];
  attempt: number[];
}

export class SdkExecutorProcess {
  readonly id: string;
  readonly child: ChildProcess;
  #output = '';
  #stopping = false;
  #crashed = false;

  private constructor(id: string, child: ChildProcess) {
    this.id = id;
    this.child = child;
    const keep = (chunk: Buffer) => {
      this.#output = (this.#output + chunk.toString('utf8')).slice(-8000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.once('exit', (code, signal) => {
      if (this.#stopping) return;
      this.#crashed = true;
      process.stderr.write(`bench: SDK executor ${id} (pid ${child.pid}) exited unexpectedly (code ${code}, signal ${signal}):\n${this.#output}\n`);
    });
  }

  /** True when the process exited before stop() was called. */
  get crashed(): boolean {
    return this.#crashed;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Starts the process and waits until the executor is registered (and polling, in pull mode). */
  static async start(options: SdkExecutorOptions): Promise<SdkExecutorProcess> {
    const child = spawnTracked(process.execPath, [...(options.nodeArgs ?? []), SCRIPT], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced',
      env: {
        ...process.env, ECRON_SERVER: options.server, ECRON_TOKEN: options.token, GROUP: options.group, NODE_ID: options.id,
        MODE: options.mode, MAX_CONCURRENCY: options.maxConcurrency === undefined ? '' : String(options.maxConcurrency),
        ECRON_BENCH_SDK: options.sdk ?? '',
      },
    });
    const handle = new SdkExecutorProcess(options.id, child);
    await handle.#next('ready', 30_000);
    return handle;
  }

  async count(): Promise<number> {
    this.child.send({ type: 'count' });
    return ((await this.#next('count')) as { runs: number }).runs;
  }

  async reset(): Promise<void> {
    this.child.send({ type: 'reset' });
    await this.#next('reset');
  }

  /** Every run the handler saw, as the benchmark executor's records (event `run`). */
  async records(): Promise<Received[]> {
    this.child.send({ type: 'records' });
    const c = (await this.#next('records', 120_000)) as unknown as Columns;
    return c.at.map((receivedAt, i) => ({ receivedAt, runId: c.runId[i]!, taskId: c.taskId[i]!, scheduledAt: c.scheduledAt[i]!, attempt: c.attempt[i]!, event: 'run' }));
  }

  /** Graceful stop (the SDK leaves the registry), SIGKILL after the grace. */
  async stop(graceMs = 10_000): Promise<void> {
    this.#stopping = true;
    if (this.child.connected) this.child.send({ type: 'stop' });
    await stopChild(this.child, 'SIGTERM', graceMs);
  }

  /** The next IPC message of `type`; fails when the process exits or after `timeoutMs`. */
  #next(type: string, timeoutMs = 15_000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`SDK executor ${this.id}: no "${type}" message within ${timeoutMs} ms:\n${this.#output}`)), timeoutMs);
      const onMessage = (message: Record<string, unknown>) => {
        if (message?.type === type) finish(null, message);
      };
      const onExit = (code: number | null) => finish(new Error(`SDK executor ${this.id} exited (${code}) before "${type}":\n${this.#output}`));
      const finish = (error: Error | null, message?: Record<string, unknown>) => {
        clearTimeout(timer);
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
        if (error) reject(error);
        else resolve(message!);
      };
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
    });
  }
}

/** Waits until the registry lists `count` live nodes of `group`, then one directory refresh (1 s). */
export async function waitRoutable(url: string, token: string, group: string, count: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const response = await fetch(`${url}/api/v1/executors?group=${encodeURIComponent(group)}`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await response.json()) as { items?: { alive: boolean }[] };
    if ((body.items ?? []).filter((n) => n.alive).length >= count) break;
    if (Date.now() > deadline) throw new Error(`the executors did not register within 20 s: ${JSON.stringify(body)}`);
    await sleep(100);
  }
  await sleep(1200);
}
