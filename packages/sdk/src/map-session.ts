/**
 * `ctx.map` of one run attempt: sends its items to the server in batches (`POST
 * /api/v1/runs/{id}/subtasks`, with the run-scoped callback token, to the node that sent the run),
 * one batch at a time, so calls of `ctx.map` append in the order they were made. A batch carries
 * the index of its first item, so a batch sent again after a network failure is a no-op on the
 * server. When the handler returns, {@link MapSession.seal} closes the map and the attempt answers
 * with the sealed marker: the server then waits for its subtasks and ends the run itself.
 */
import { MAP_BATCH_MAX, MAP_SEALED_KEY, type MapOptions, type RunRequest } from '@ecron/contracts';
import { sendJson } from './api-request.ts';
import { EcronApiError, ExecutorError } from './errors.ts';
import { describeError } from './log.ts';

/** Options of one `ctx.map` call; all calls of an attempt must give the same `reduce`, `maxAttempts` and failure policy. */
export interface MapCallOptions extends MapOptions {
  /** Items per request. @default 500 */
  batchSize?: number;
}

const DEFAULT_BATCH = 500;
const TRIES = 5;

export interface MapSessionDeps {
  userAgent: string;
  timeoutMs: number;
}

export class MapSession {
  readonly #request: RunRequest;
  readonly #deps: MapSessionDeps;
  readonly #base: string;
  #offset = 0;
  #tail: Promise<unknown> = Promise.resolve();
  #used = false;
  #failed: Error | null = null;

  constructor(request: RunRequest, deps: MapSessionDeps) {
    this.#request = request;
    this.#deps = deps;
    const url = request.callback?.url ?? '';
    if (request.fanOut || !url.endsWith('/report')) throw new ExecutorError('MAP_INVALID', 'ctx.map needs an unsharded run of an executor task (a fan-out leg cannot map)');
    this.#base = url.slice(0, -'/report'.length);
  }

  /** Whether `map` was called. */
  get used(): boolean {
    return this.#used;
  }

  /** Emits `items` as subtasks of `handler`; resolves with the map's total so far once they are stored. */
  map(items: Iterable<unknown> | AsyncIterable<unknown>, handler: string, options: MapCallOptions = {}): Promise<{ total: number }> {
    if (typeof handler !== 'string' || handler === '') return Promise.reject(new ExecutorError('MAP_INVALID', 'ctx.map(items, handler): the handler name is required'));
    const { batchSize = DEFAULT_BATCH, ...mapOptions } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAP_BATCH_MAX) {
      return Promise.reject(new ExecutorError('MAP_INVALID', `batchSize must be an integer in 1..${MAP_BATCH_MAX}`));
    }
    this.#used = true;
    const run = this.#tail.then(async () => {
      if (this.#failed) throw this.#failed;
      let batch: unknown[] = [];
      let total = this.#offset;
      for await (const item of items as AsyncIterable<unknown>) {
        batch.push(item);
        if (batch.length >= batchSize) {
          total = await this.#send(batch, handler, mapOptions);
          batch = [];
        }
      }
      if (batch.length > 0 || this.#offset === 0) total = await this.#send(batch, handler, mapOptions);
      return { total };
    });
    this.#tail = run.catch((error: unknown) => { this.#failed ??= error instanceof Error ? error : new Error(String(error)); });
    return run;
  }

  /** Waits for every batch, then seals the map; resolves with the output the attempt answers with. */
  async seal(): Promise<unknown> {
    await this.#tail;
    if (this.#failed) throw this.#failed;
    const reply = await this.#post<{ total: number }>('/subtasks/seal', { attempt: this.#request.attempt });
    return { [MAP_SEALED_KEY]: { total: reply.total } };
  }

  async #send(items: unknown[], handler: string, options: MapOptions): Promise<number> {
    const reply = await this.#post<{ total: number }>('/subtasks', { attempt: this.#request.attempt, offset: this.#offset, handler, items, options });
    this.#offset += items.length;
    return reply.total;
  }

  /** One call, tried again on network failures and 5xx answers. */
  async #post<T>(path: string, body: unknown): Promise<T> {
    for (let round = 1; ; round++) {
      try {
        return await sendJson<T>(`${this.#base}${path}`, { method: 'POST', token: this.#request.callback.token, body, timeoutMs: this.#deps.timeoutMs, userAgent: this.#deps.userAgent });
      } catch (error) {
        const retryable = !(error instanceof EcronApiError) || error.retryable;
        if (!retryable || round >= TRIES) throw new ExecutorError('MAP_INVALID', `the map's subtasks could not be stored: ${describeError(error)}`, { cause: error });
        await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** (round - 1)));
      }
    }
  }
}
