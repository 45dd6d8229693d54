/**
 * SDK executor processes (bench/sdk-executor.ts) driven over an IPC channel: start one, ask for
 * its counts and records, stop it. Every process is tracked by children.ts (killed by its pid
 * when the benchmark exits).
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Received } from './api.ts';
import { sleep } from './children.ts';
import { IpcChild } from './ipc-child.ts';
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

export class SdkExecutorProcess extends IpcChild {
  readonly id: string;

  private constructor(id: string, child: ChildProcess) {
    super(`SDK executor ${id}`, child);
    this.id = id;
  }

  /** Starts the process and waits until the executor is registered (and polling, in pull mode). */
  static async start(options: SdkExecutorOptions): Promise<SdkExecutorProcess> {
    const child = IpcChild.spawn(SCRIPT, {
      ECRON_SERVER: options.server, ECRON_TOKEN: options.token, GROUP: options.group, NODE_ID: options.id,
      MODE: options.mode, MAX_CONCURRENCY: options.maxConcurrency === undefined ? '' : String(options.maxConcurrency),
      ECRON_BENCH_SDK: options.sdk ?? '',
    }, options.nodeArgs);
    const handle = new SdkExecutorProcess(options.id, child);
    await handle.next('ready', 30_000);
    return handle;
  }

  async count(): Promise<number> {
    return ((await this.ask('count')) as { runs: number }).runs;
  }

  async reset(): Promise<void> {
    await this.ask('reset');
  }

  /** Every run the handler saw, as the benchmark executor's records (event `run`). */
  async records(): Promise<Received[]> {
    const c = (await this.ask('records', 120_000)) as unknown as Columns;
    return c.at.map((receivedAt, i) => ({ receivedAt, runId: c.runId[i]!, taskId: c.taskId[i]!, scheduledAt: c.scheduledAt[i]!, attempt: c.attempt[i]!, event: 'run' }));
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
