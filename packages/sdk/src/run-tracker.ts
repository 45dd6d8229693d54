/**
 * The runs in flight on this node, and the outcomes of those that ended in the last 10 minutes
 * (for status requests after a scheduler restart). Cancel, status and shutdown find runs here.
 */
import type { StatusReply } from '@ecron/contracts';
import type { AbortReason } from './context.ts';
import { runKey, type RunExecution, type RunOutcome } from './run-execution.ts';

/** How long an outcome is remembered for status requests. */
export const OUTCOME_MEMORY_MS = 10 * 60_000;
/** At most this many outcomes are remembered (the oldest go first). */
const MAX_OUTCOMES = 100_000;

/** Which runs a cancel or status request means: all shards on this node when `shard` is absent. */
export interface RunSelector {
  runId: string;
  attempt: number;
  shard?: number | undefined;
}

export class RunTracker {
  readonly #active = new Map<string, RunExecution>();
  /** Insertion-ordered, so the oldest come first when sweeping. */
  readonly #outcomes = new Map<string, { outcome: RunOutcome; at: number }>();
  #idleWaiters: (() => void)[] = [];

  /** Runs in flight (including detached ones not ended yet). */
  get size(): number {
    return this.#active.size;
  }

  get(key: string): RunExecution | undefined {
    return this.#active.get(key);
  }

  /** A recent outcome of this exact run shard. */
  recentOutcome(key: string): RunOutcome | undefined {
    this.#sweep();
    return this.#outcomes.get(key)?.outcome;
  }

  add(execution: RunExecution): void {
    this.#active.set(execution.key, execution);
    void execution.finished.then(() => {
      if (this.#active.get(execution.key) === execution) this.#active.delete(execution.key);
      if (this.#active.size === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
    });
  }

  record(key: string, outcome: RunOutcome): void {
    this.#outcomes.delete(key);
    this.#outcomes.set(key, { outcome, at: Date.now() });
    this.#sweep();
  }

  /** Aborts the signal of matching runs; returns how many there were. */
  cancel(selector: RunSelector, reason: AbortReason = 'cancelled'): number {
    const matches = this.#matching(selector).filter((execution) => !execution.settled);
    for (const execution of matches) execution.abort(reason);
    return matches.length;
  }

  status(selector: RunSelector): StatusReply {
    if (this.#matching(selector).some((execution) => !execution.settled)) return { status: 'running' };
    this.#sweep();
    const outcomes = selector.shard === undefined
      ? [...this.#outcomes].filter(([key]) => key.startsWith(`${selector.runId}#${selector.attempt}#`)).map(([, entry]) => entry.outcome)
      : [this.#outcomes.get(runKey(selector.runId, selector.attempt, selector.shard))?.outcome].filter((o) => o !== undefined);
    if (outcomes.length === 0) return { status: 'unknown' };
    const failed = outcomes.find((outcome) => outcome.status === 'failed');
    if (failed) return { status: 'failed', error: failed.error };
    return outcomes.length === 1 ? { status: 'succeeded', output: (outcomes[0] as { output: unknown }).output } : { status: 'succeeded' };
  }

  /**
   * Resolves true once every run in flight has its outcome (runs that arrive meanwhile
   * included), or false when `timeoutMs` passes first.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pending = [...this.#active.values()].filter((execution) => !execution.settled);
      if (pending.length === 0) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all(pending.map((execution) => execution.whenSettled)),
        new Promise((resolve) => { timer = setTimeout(resolve, left); }),
      ]);
      clearTimeout(timer);
    }
  }

  /** Hands back every run not settled yet (shutdown after the grace period). */
  handBackAll(): number {
    let count = 0;
    for (const execution of this.#active.values()) {
      if (execution.settled) continue;
      execution.handBack();
      count++;
    }
    return count;
  }

  /** Resolves once nothing is in flight (handed-back runs included). */
  whenIdle(): Promise<void> {
    if (this.#active.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #matching(selector: RunSelector): RunExecution[] {
    if (selector.shard !== undefined) {
      const one = this.#active.get(runKey(selector.runId, selector.attempt, selector.shard));
      return one ? [one] : [];
    }
    return [...this.#active.values()].filter((e) => e.request.runId === selector.runId && e.request.attempt === selector.attempt);
  }

  #sweep(): void {
    const cutoff = Date.now() - OUTCOME_MEMORY_MS;
    for (const [key, entry] of this.#outcomes) {
      if (entry.at >= cutoff && this.#outcomes.size <= MAX_OUTCOMES) break;
      this.#outcomes.delete(key);
    }
  }
}
