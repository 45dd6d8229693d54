import { EventEmitter } from 'node:events';

/**
 * An in-process notice that this process has just appended log lines to a run. Whoever follows a
 * run's log (`GET /api/v1/runs/{id}/logs?follow=1`) wakes on it instead of waiting for its next
 * poll of the store. A notice carries no lines and promises nothing about other processes: lines
 * that another node of a cluster appends are found by that poll. The store stays the only source
 * of truth.
 */
export class RunLogSignal {
  readonly #listeners = new Map<string, Set<() => void>>();
  /** What followers do, for tests and diagnostics to wait on. */
  readonly followers = new EventEmitter<RunLogFollowerEvents>();

  /** Tells the listeners of `runId` that lines were appended to its log. */
  notify(runId: string): void {
    const listeners = this.#listeners.get(runId);
    if (!listeners) return;
    for (const listener of [...listeners]) listener();
  }

  /** Calls `listener` on every notice for `runId` until the returned function is called. */
  subscribe(runId: string, listener: () => void): () => void {
    let listeners = this.#listeners.get(runId);
    if (!listeners) {
      listeners = new Set();
      this.#listeners.set(runId, listeners);
    }
    const entry = (): void => listener();
    listeners.add(entry);
    return () => {
      const current = this.#listeners.get(runId);
      if (!current?.delete(entry)) return;
      if (current.size === 0) this.#listeners.delete(runId);
    };
  }

  /** How many listeners are subscribed, to one run or to all (for tests and diagnostics). */
  listenerCount(runId?: string): number {
    if (runId !== undefined) return this.#listeners.get(runId)?.size ?? 0;
    let count = 0;
    for (const listeners of this.#listeners.values()) count += listeners.size;
    return count;
  }
}

export interface RunLogFollowerEvents {
  /** A follower has sent every line up to `afterSeq` and now waits for a notice or its next poll. */
  waiting: [runId: string, afterSeq: number];
  /** A follower has stopped (the run's end sent, its client gone, or an error); it reads nothing more. */
  stopped: [runId: string];
}

/**
 * The process's one signal: the scheduler notifies it after it stores an executor's log lines
 * (callback reports) or one of its own (a failed attempt), and the API's log followers listen.
 */
export const runLogAppends = new RunLogSignal();
