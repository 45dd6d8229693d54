/**
 * The driver's side of the ecron API (bulk task creation with bounded concurrency over keep-alive
 * connections) and of the benchmark executor (record retrieval).
 */
import { Pool, request } from 'undici';
import { sleep } from './children.ts';

export interface CreateResult {
  ids: string[];
  ms: number;
  perSecond: number;
}

export class EcronApi {
  readonly #pool: Pool;
  readonly #auth: string;

  constructor(url: string, token: string, connections = 64) {
    this.#pool = new Pool(url, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
    this.#auth = `Bearer ${token}`;
  }

  async createTask(spec: unknown): Promise<string> {
    const body = JSON.stringify(spec);
    const response = await this.#pool.request({
      path: '/api/v1/tasks', method: 'POST', body,
      headers: { 'content-type': 'application/json', authorization: this.#auth },
      headersTimeout: 60_000, bodyTimeout: 60_000,
    });
    const text = await response.body.text();
    if (response.statusCode !== 201) throw new Error(`POST /api/v1/tasks answered ${response.statusCode}: ${text.slice(0, 500)}`);
    return (JSON.parse(text) as { id: string }).id;
  }

  /**
   * Creates `count` tasks, `concurrency` requests in flight at most; `specAt(i)` builds the i-th
   * spec. Reports progress on `onProgress` about every second.
   */
  async createTasks(count: number, specAt: (i: number) => unknown, options: { concurrency?: number; onProgress?: (done: number) => void } = {}): Promise<CreateResult> {
    const concurrency = Math.max(1, Math.min(options.concurrency ?? 64, count));
    const ids = new Array<string>(count);
    const started = performance.now();
    let next = 0;
    let done = 0;
    let lastReport = started;
    const worker = async () => {
      while (next < count) {
        const i = next++;
        ids[i] = await this.createTask(specAt(i));
        done += 1;
        const now = performance.now();
        if (options.onProgress && now - lastReport >= 1000) {
          lastReport = now;
          options.onProgress(done);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const ms = performance.now() - started;
    return { ids, ms, perSecond: count / (ms / 1000) };
  }

  /**
   * Creates `count` tasks through `POST /api/v1/tasks:batch`, `batch` specs per request and
   * `concurrency` requests in flight (the bulk path: one transaction per 500 specs).
   */
  async createTasksBatch(count: number, specAt: (i: number) => unknown, options: { batch?: number; concurrency?: number } = {}): Promise<CreateResult> {
    const batch = options.batch ?? 5000;
    const concurrency = Math.max(1, options.concurrency ?? 2);
    const ids = new Array<string>(count);
    const started = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const from = next;
        next = Math.min(count, next + batch);
        const items = Array.from({ length: next - from }, (_, k) => specAt(from + k));
        const response = await this.#pool.request({
          path: '/api/v1/tasks:batch', method: 'POST', body: JSON.stringify({ items }),
          headers: { 'content-type': 'application/json', authorization: this.#auth }, headersTimeout: 120_000, bodyTimeout: 120_000,
        });
        const text = await response.body.text();
        if (response.statusCode !== 200) throw new Error(`POST /api/v1/tasks:batch answered ${response.statusCode}: ${text.slice(0, 500)}`);
        const answer = JSON.parse(text) as { items: ({ id: string } | { error: { code: string; message: string } })[] };
        answer.items.forEach((item, k) => {
          if ('error' in item) throw new Error(`tasks:batch item ${from + k}: ${item.error.code}: ${item.error.message}`);
          ids[from + k] = item.id;
        });
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const ms = performance.now() - started;
    return { ids, ms, perSecond: count / (ms / 1000) };
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }
}

/**
 * Measures the creation rate with `count` manual tasks (they never fire), so that a benchmark can
 * pick instants that fall after its real tasks are all created.
 */
export async function measureCreateRate(api: EcronApi, count = 300, bulk = false): Promise<number> {
  const spec = (i: number) => ({ name: `calibrate-${i}`, schedule: { manual: true }, target: { type: 'http', url: 'http://127.0.0.1:9/unused' } });
  if (bulk) {
    await api.createTasksBatch(1000, (i) => spec(10 * count + i)); // warm-up
    return (await api.createTasksBatch(5 * count, spec)).perSecond;
  }
  await api.createTasks(100, (i) => spec(count + i)); // warm-up: the first requests compile the server's code
  const { perSecond } = await api.createTasks(count, spec);
  return perSecond;
}

/** One request received by the benchmark executor. */
export interface Received {
  receivedAt: number;
  runId: string;
  taskId: string;
  scheduledAt: number;
  attempt: number;
  event: string;
}

export class ExecutorClient {
  readonly #url: string;

  constructor(url: string) {
    this.#url = url;
  }

  async count(): Promise<number> {
    const response = await request(`${this.#url}/count`);
    return ((await response.body.json()) as { count: number }).count;
  }

  /** Run requests only (not the server's cancel or status requests). */
  async runCount(): Promise<number> {
    const response = await request(`${this.#url}/count`);
    return ((await response.body.json()) as { runs: number }).runs;
  }

  async reset(): Promise<void> {
    const response = await request(`${this.#url}/reset`, { method: 'POST' });
    await response.body.dump();
  }

  async records(): Promise<{ records: Received[]; badSignatures: number }> {
    const response = await request(`${this.#url}/records`, { headersTimeout: 120_000, bodyTimeout: 120_000 });
    const data = (await response.body.json()) as { rows: [number, string, string, number | null, number, string][]; badSignatures: number };
    const records = data.rows.map(([receivedAt, runId, taskId, scheduledAt, attempt, event]) => ({
      receivedAt, runId, taskId, scheduledAt: scheduledAt ?? NaN, attempt, event,
    }));
    return { records, badSignatures: data.badSignatures };
  }

  /** Polls until `count() >= expected` or `deadline` (epoch ms); returns the last count. */
  async waitForCount(expected: number, deadline: number, pollMs = 250): Promise<number> {
    let seen = await this.count();
    while (seen < expected && Date.now() < deadline) {
      await sleep(Math.min(pollMs, deadline - Date.now()));
      seen = await this.count();
    }
    return seen;
  }
}

/** Duplicated deliveries: the same (runId, attempt) twice, or the same fire (taskId, scheduledAt) twice. */
export function countDuplicates(records: Received[]): { byRun: number; byFire: number; retries: number } {
  const runs = new Set<string>();
  const fires = new Map<string, string>();
  let byRun = 0;
  let byFire = 0;
  let retries = 0;
  for (const r of records) {
    if (r.event !== 'run') continue;
    if (r.attempt > 1) retries += 1;
    const runKey = `${r.runId}#${r.attempt}`;
    if (runs.has(runKey)) byRun += 1;
    else runs.add(runKey);
    const fireKey = `${r.taskId}@${r.scheduledAt}`;
    const seenRun = fires.get(fireKey);
    if (seenRun === undefined) fires.set(fireKey, r.runId);
    else if (seenRun !== r.runId) byFire += 1;
  }
  return { byRun, byFire, retries };
}
