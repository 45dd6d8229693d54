/**
 * A real cluster for tests: N `ecron start` processes on one PostgreSQL schema or MariaDB
 * database of their own (dropped afterwards), short leases so that takeovers take about two
 * seconds, and a real HTTP executor that records every delivery.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeList } from '@ecron/contracts';
import { adminStatement, scratchName } from '../../scripts/scratch-sql-store.ts';
import { ServerProcess, tempDataDir } from '../support/server-process.ts';
import { TestExecutor, type ReceivedRequest } from '../support/test-executor.ts';
import { MYSQL_URL, POSTGRES_URL } from '../store/sql-test-stores.ts';

export const ADMIN_TOKEN = `ecr_cluster_test_${'0'.repeat(40)}`;
/** TTL 2 s, renewed every 400 ms, used until 700 ms before expiry: takeover within ~2.5 s. */
export const LEASE_FLAGS = ['--lease-ttl', '2s', '--lease-renew', '400ms', '--lease-margin', '700ms'];

export class ClusterHarness {
  readonly nodes: ServerProcess[] = [];
  executor!: TestExecutor;
  executorUrl = '';
  readonly #kind: 'postgres' | 'mysql';
  readonly #scratch = scratchName();

  constructor(kind: 'postgres' | 'mysql') {
    this.#kind = kind;
  }

  get storeUrl(): string {
    if (this.#kind === 'postgres') return `${POSTGRES_URL}?schema=${this.#scratch}`;
    const url = new URL(MYSQL_URL);
    url.pathname = `/${this.#scratch}`;
    return url.toString();
  }

  async start(count: number): Promise<this> {
    const server = this.#kind === 'postgres' ? POSTGRES_URL : MYSQL_URL;
    await adminStatement(server, this.#kind === 'postgres'
      ? `CREATE SCHEMA ${this.#scratch}`
      : `CREATE DATABASE ${this.#scratch} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    // The first node creates the schema and the cluster's keys; the others join it.
    await this.addNode();
    await Promise.all(Array.from({ length: count - 1 }, () => this.addNode()));
    this.executor = new TestExecutor(readFileSync(join(this.nodes[0]!.dataDir, 'signing.key'), 'utf8').trim(), { trackStatus: true });
    this.executorUrl = await this.executor.start();
    return this;
  }

  async addNode(): Promise<ServerProcess> {
    const node = new ServerProcess(tempDataDir('ecron-cluster-'));
    this.nodes.push(node);
    await node.start(['--store', this.storeUrl, '--log-level', process.env.ECRON_TEST_LOG_LEVEL ?? 'warn', ...LEASE_FLAGS], { ECRON_ADMIN_TOKEN: ADMIN_TOKEN });
    return node;
  }

  /** Starts a stopped or killed node again, on its data dir. */
  async restart(node: ServerProcess): Promise<void> {
    await node.start(['--store', this.storeUrl, '--log-level', process.env.ECRON_TEST_LOG_LEVEL ?? 'warn', ...LEASE_FLAGS], { ECRON_ADMIN_TOKEN: ADMIN_TOKEN });
  }

  async api<T = any>(node: ServerProcess, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const response = await fetch(`${node.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  }

  async nodeList(via: ServerProcess): Promise<NodeList> {
    const { status, body } = await this.api<NodeList>(via, 'GET', '/api/v1/nodes');
    if (status !== 200) throw new Error(`GET /api/v1/nodes answered ${status}`);
    return body;
  }

  /** Polls the node list through `via` until `predicate` holds; fails after `timeoutMs`. */
  async waitForNodes(via: ServerProcess, predicate: (list: NodeList) => boolean, timeoutMs: number): Promise<NodeList> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const list = await this.nodeList(via);
      if (predicate(list)) return list;
      if (Date.now() > deadline) throw new Error(`the cluster did not reach the expected state in ${timeoutMs} ms: ${JSON.stringify(list)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Resolves once every task in `taskIds` has had a delivery scheduled at or after `at`; fails naming `step` otherwise. */
  async deliveredAfter(step: string, taskIds: string[], at: number, timeoutMs = 30_000): Promise<void> {
    const waiting = taskIds.map((taskId) => this.executor.next((r) => r.event === 'run' && r.body.taskId === taskId && Date.parse(r.body.scheduledAt) >= at, timeoutMs)
      .then(() => null, () => taskId));
    const late = (await Promise.all(waiting)).filter((taskId) => taskId !== null);
    if (late.length > 0) {
      const alive = await Promise.all(this.nodes.filter((n) => n.child).map((n) => this.nodeList(n).catch((e: Error) => e.message)));
      throw new Error(`${step}: ${late.length} of ${taskIds.length} tasks had no fire at or after ${new Date(at).toISOString()} within ${timeoutMs} ms; nodes: ${JSON.stringify(alive[0])}`);
    }
  }

  /** Deliveries of each task, in order of scheduled instant. */
  deliveries(): Map<string, ReceivedRequest[]> {
    const byTask = new Map<string, ReceivedRequest[]>();
    for (const r of this.executor.runs()) {
      const list = byTask.get(r.body.taskId) ?? [];
      list.push(r);
      byTask.set(r.body.taskId, list);
    }
    for (const list of byTask.values()) list.sort((a, b) => Date.parse(a.body.scheduledAt) - Date.parse(b.body.scheduledAt));
    return byTask;
  }

  async stop(): Promise<void> {
    for (const node of this.nodes) {
      if (node.child) {
        node.child.kill('SIGCONT');
        await node.kill('SIGKILL');
      }
    }
    await this.executor?.stop();
    const server = this.#kind === 'postgres' ? POSTGRES_URL : MYSQL_URL;
    if (process.env.ECRON_KEEP_SCRATCH) {
      process.stderr.write(`kept the cluster's store: ${this.storeUrl}\n`);
      return;
    }
    await adminStatement(server, this.#kind === 'postgres' ? `DROP SCHEMA IF EXISTS ${this.#scratch} CASCADE` : `DROP DATABASE IF EXISTS ${this.#scratch}`);
  }
}
