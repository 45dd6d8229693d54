/**
 * The cluster a chaos run drives: N real `ecron start` processes ("slots") on one scratch schema
 * (PostgreSQL) or database (MariaDB). A slot keeps its data dir across restarts (a killed node
 * comes back as a new process on the same dir); every process it ran is remembered with the node
 * id it registered under, so that the store's `owner` columns can be read afterwards.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeList } from '@ecron/contracts';
import { createScratch, type Scratch } from '../../packages/server/scripts/scratch-sql-store.ts';
import { atExit, sleep } from '../lib/children.ts';
import { startEcronServer, type ServerHandle } from '../lib/processes.ts';

export const ADMIN_TOKEN = `ecr_chaos_${'0'.repeat(40)}`;

/** One process a slot ran. */
export interface NodeProcess {
  slot: number;
  pid: number;
  url: string;
  nodeId: string | null;
  startedAt: number;
  /** When it stopped and how: `kill` (SIGKILL by the run), `stop` (SIGTERM at the end), `crash` (by itself). */
  endedAt: number | null;
  end: 'kill' | 'stop' | 'crash' | null;
  /** Its exit status, for a crash. */
  exit?: string;
  output?: string;
  maxRssBytes: number;
  lastRssBytes: number;
}

interface Slot {
  index: number;
  dataDir: string;
  handle: ServerHandle | null;
  process: NodeProcess | null;
  frozen: boolean;
}

/** Resident set size of a process (Linux /proc), bytes; 0 when unknown. */
export function rssBytes(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export class ChaosCluster {
  readonly processes: NodeProcess[] = [];
  readonly #slots: Slot[] = [];
  readonly #serverUrl: string;
  readonly #extraArgs: string[];
  readonly #keepDataDirs: boolean;
  #scratch: Scratch | null = null;

  readonly #logDir: string | undefined;
  readonly #logLevel: string;

  /**
   * `serverUrl`: the database server (postgres://… or mysql://…); `extraArgs`: more `ecron start`
   * flags; `logDir`: where each process's output goes (slot-S-pid-P.log).
   */
  constructor(serverUrl: string, extraArgs: string[], options: { keepDataDirs?: boolean; logDir?: string; logLevel?: string } = {}) {
    this.#serverUrl = serverUrl;
    this.#logLevel = options.logLevel ?? 'warn';
    this.#extraArgs = extraArgs;
    this.#keepDataDirs = options.keepDataDirs ?? false;
    this.#logDir = options.logDir;
  }

  get storeUrl(): string {
    if (!this.#scratch) throw new Error('no scratch store yet');
    return this.#scratch.storeUrl;
  }

  get scratchName(): string {
    return this.#scratch?.name ?? '';
  }

  get size(): number {
    return this.#slots.length;
  }

  /** Creates the scratch store and starts `count` nodes: the first alone (it creates the schema and the keys), then the others together. */
  async start(count: number): Promise<void> {
    this.#scratch = await createScratch(this.#serverUrl);
    for (let i = 0; i < count; i += 1) {
      const dataDir = mkdtempSync(join(tmpdir(), `ecron-chaos-${i}-`));
      if (!this.#keepDataDirs) atExit(() => rmSync(dataDir, { recursive: true, force: true }));
      this.#slots.push({ index: i, dataDir, handle: null, process: null, frozen: false });
    }
    await this.startSlot(0);
    await Promise.all(this.#slots.slice(1).map((slot) => this.startSlot(slot.index)));
  }

  /** The signing key the nodes share (a copy in each data dir). */
  signingKeyFile(): string {
    return join(this.#slots[0]!.dataDir, 'signing.key');
  }

  /** Starts a new process in `slot` (its data dir kept from before). */
  async startSlot(index: number): Promise<NodeProcess> {
    const slot = this.#slots[index]!;
    const logFile = this.#logDir ? join(this.#logDir, `slot-${index}-${this.processes.filter((p) => p.slot === index).length}.log`) : undefined;
    const handle = await startEcronServer({ dataDir: slot.dataDir, keepDataDir: true, adminToken: ADMIN_TOKEN, logFile, logLevel: this.#logLevel, readyTimeoutMs: 120_000, args: ['--store', this.storeUrl, ...this.#extraArgs] });
    const node: NodeProcess = { slot: index, pid: handle.child.pid!, url: handle.url, nodeId: null, startedAt: Date.now(), endedAt: null, end: null, maxRssBytes: 0, lastRssBytes: 0 };
    handle.child.once('exit', (code, signal) => {
      node.endedAt ??= Date.now();
      if (node.end === null) {
        node.end = 'crash';
        node.exit = `code ${code}, signal ${signal}`;
        node.output = handle.output();
      }
      if (slot.handle === handle) slot.handle = null;
    });
    slot.handle = handle;
    slot.process = node;
    slot.frozen = false;
    this.processes.push(node);
    void this.#learnNodeId(node);
    return node;
  }

  /** The node id a process registered under, from the node list (matched by its address). */
  async #learnNodeId(node: NodeProcess): Promise<void> {
    for (let i = 0; i < 50 && node.nodeId === null && node.end === null; i += 1) {
      const list = await this.nodeList().catch(() => null);
      node.nodeId = list?.items.find((item) => item.address === node.url)?.id ?? null;
      if (node.nodeId === null) await sleep(200);
    }
  }

  /** Slots with no process (a restart that failed). */
  emptySlots(): number[] {
    return this.#slots.filter((slot) => !slot.handle).map((slot) => slot.index);
  }

  /** Slots whose process runs and is not frozen. */
  liveSlots(): number[] {
    return this.#slots.filter((slot) => slot.handle && !slot.frozen).map((slot) => slot.index);
  }

  /** SIGKILL: the node dies with whatever it had in flight. */
  kill(index: number): NodeProcess {
    const slot = this.#slots[index]!;
    const node = slot.process!;
    this.sampleRss();
    node.end = 'kill';
    node.endedAt = Date.now();
    slot.handle!.signal('SIGKILL');
    slot.handle = null;
    return node;
  }

  /** SIGSTOP (`frozen`) or SIGCONT. */
  freeze(index: number, frozen: boolean): void {
    const slot = this.#slots[index]!;
    slot.handle!.signal(frozen ? 'SIGSTOP' : 'SIGCONT');
    slot.frozen = frozen;
  }

  /** Records every running process's RSS (and its maximum so far). */
  sampleRss(): void {
    for (const slot of this.#slots) {
      const node = slot.process;
      if (!slot.handle || !node) continue;
      const rss = rssBytes(node.pid);
      if (rss === 0) continue;
      node.lastRssBytes = rss;
      node.maxRssBytes = Math.max(node.maxRssBytes, rss);
    }
  }

  async api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    let lastError: unknown = new Error('no live node');
    for (const index of this.liveSlots()) {
      try {
        const response = await fetch(`${this.#slots[index]!.handle!.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(10_000),
        });
        const text = await response.text();
        return { status: response.status, body: text ? JSON.parse(text) : null };
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  }

  /** The node list, asked of any live node. */
  async nodeList(): Promise<NodeList> {
    const { status, body } = await this.api<NodeList>('GET', '/api/v1/nodes');
    if (status !== 200) throw new Error(`GET /api/v1/nodes answered ${status}`);
    return body;
  }

  /**
   * Resolves when every live slot's node is alive and the buckets are shared evenly with none
   * unowned; returns how long that took. Fails after `timeoutMs`.
   */
  async waitBalanced(timeoutMs: number): Promise<number> {
    const started = Date.now();
    let last: NodeList | null = null;
    while (Date.now() - started < timeoutMs) {
      last = await this.nodeList().catch(() => null);
      if (last) {
        const alive = last.items.filter((item) => item.alive);
        const share = last.buckets.total / Math.max(1, alive.length);
        if (alive.length === this.liveSlots().length && last.buckets.unowned === 0
          && alive.every((item) => item.buckets.length >= Math.floor(share) && item.buckets.length <= Math.ceil(share))) return Date.now() - started;
      }
      await sleep(250);
    }
    throw new Error(`the cluster did not balance within ${timeoutMs} ms: ${JSON.stringify(last?.items.map((item) => ({ id: item.id, alive: item.alive, buckets: item.buckets.length })))}`);
  }

  /** SIGCONTs frozen nodes, then stops every node with SIGTERM (in parallel). */
  async stop(): Promise<void> {
    await Promise.all(this.#slots.map(async (slot) => {
      if (!slot.handle) return;
      if (slot.frozen) this.freeze(slot.index, false);
      slot.process!.end = 'stop';
      slot.process!.endedAt = Date.now();
      await slot.handle.stop({ graceMs: 20_000 });
    }));
  }

  /** Drops the scratch store, or says where it was kept. */
  async dropStore(keep: boolean): Promise<void> {
    if (!this.#scratch) return;
    if (keep) {
      process.stderr.write(`chaos: kept the store ${this.#scratch.storeUrl}\n`);
      return;
    }
    await this.#scratch.drop();
  }
}
