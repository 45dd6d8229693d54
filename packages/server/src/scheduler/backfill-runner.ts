/**
 * Runs the backfills this scheduler node owns: for each, the next instants of its task's (or
 * workflow's) schedule in its range are fired one after another, at most `concurrency` of the runs
 * it created active at once (runs carry their `backfillId`), each recorded under the fire's unique key `(taskId, scheduledAt)`, so that an
 * instant that has a fire already is skipped and none is fired twice, whoever runs the backfill.
 * Progress is written to the store (compare-and-set on the owner) after each step; a cancelled
 * backfill, or one adopted by another node, is dropped here at its next write. Backfills of a dead
 * node are adopted on the lease tick, and this node's own at its start.
 */
import type { Clock, TimerHandle } from '../core/clock.ts';
import type { BackfillRecord, RunRecord, ScheduledRecord } from '../core/model.ts';
import { nextFireAfter } from '../core/schedule/next-fire.ts';
import type { Store } from '../store/store.ts';

export interface BackfillRunnerDeps {
  store: Store;
  clock: Clock;
  nodeId: () => string;
  /** Records (or finds) the fire of `task` at `scheduledAt` for the backfill and sends it; `created` is false when it existed. */
  fire: (task: ScheduledRecord, scheduledAt: number, backfillId: string) => Promise<{ run: RunRecord; created: boolean }>;
  log: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

/** How often running backfills take a step. */
const STEP_MS = 250;

/** The instants of `task`'s schedule from `fromAt` to `toAt` (inclusive), at most `limit` (+1 to tell "more"). */
export function fireInstants(task: ScheduledRecord, fromAt: number, toAt: number, limit: number): number[] {
  const out: number[] = [];
  let cursor = fromAt - 1;
  while (out.length <= limit) {
    const next = nextFireAfter(task.spec.schedule, cursor, { anchor: task.anchorAt });
    if (next === null || next > toAt) break;
    out.push(next);
    cursor = next;
  }
  return out;
}

export class BackfillRunner {
  readonly #deps: BackfillRunnerDeps;
  readonly #owned = new Map<string, BackfillRecord>();
  #timer: TimerHandle | null = null;
  #stepping = false;
  #stopped = false;

  constructor(deps: BackfillRunnerDeps) {
    this.#deps = deps;
  }

  get size(): number {
    return this.#owned.size;
  }

  /** Takes a backfill this node owns (created here, or adopted). */
  add(backfill: BackfillRecord): void {
    if (this.#stopped || backfill.status !== 'running') return;
    this.#owned.set(backfill.id, backfill);
    this.#arm(0);
  }

  /** Adopts the running backfills of dead nodes (all but this node's, when `liveNodeIds` is empty). */
  async adopt(liveNodeIds: string[]): Promise<void> {
    if (this.#stopped) return;
    for (const backfill of await this.#deps.store.adoptBackfills({ nodeId: this.#deps.nodeId(), liveNodeIds })) this.add(backfill);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) this.#deps.clock.clearTimer(this.#timer);
    this.#owned.clear();
  }

  #arm(delayMs: number): void {
    if (this.#timer || this.#stopped || this.#owned.size === 0) return;
    this.#timer = this.#deps.clock.setTimer(() => {
      this.#timer = null;
      void this.#stepAll();
    }, delayMs);
  }

  async #stepAll(): Promise<void> {
    if (this.#stepping) return;
    this.#stepping = true;
    try {
      for (const backfill of [...this.#owned.values()]) {
        try {
          await this.#step(backfill);
        } catch (error) {
          this.#deps.log('warn', 'a backfill step failed; trying again', { backfillId: backfill.id, error: String(error) });
        }
      }
    } finally {
      this.#stepping = false;
      this.#arm(STEP_MS);
    }
  }

  async #step(owned: BackfillRecord): Promise<void> {
    const { store, clock } = this.#deps;
    // Cancelled, or adopted by another node since the last step: let it go.
    const backfill = await store.getBackfill(owned.id);
    if (!backfill || backfill.status !== 'running' || backfill.owner !== this.#deps.nodeId()) {
      this.#owned.delete(owned.id);
      return;
    }
    const task = await store.getScheduled(backfill.taskId);
    if (!task) {
      await this.#write(backfill, { status: 'failed', error: 'the task was deleted', finishedAt: clock.now() });
      return;
    }
    const { active } = await store.countBackfillRuns(backfill.id);
    let { cursorAt, created, skipped } = backfill;
    let running = active;
    let exhausted = false;
    while (running < backfill.concurrency) {
      const next = nextFireAfter(task.spec.schedule, cursorAt ?? backfill.fromAt - 1, { anchor: task.anchorAt });
      if (next === null || next > backfill.toAt || created + skipped >= backfill.total) {
        exhausted = true;
        break;
      }
      const fired = await this.#deps.fire(task, next, backfill.id);
      if (fired.created) {
        created += 1;
        running += 1;
      } else {
        skipped += 1;
      }
      cursorAt = next;
    }
    if (!exhausted && running >= backfill.concurrency) {
      const peek = nextFireAfter(task.spec.schedule, cursorAt ?? backfill.fromAt - 1, { anchor: task.anchorAt });
      exhausted = peek === null || peek > backfill.toAt || created + skipped >= backfill.total;
    }
    const done = exhausted && running === 0;
    if (done) {
      // Every fire created and every run ended: it succeeded when they all did.
      const { failed } = await store.countBackfillRuns(backfill.id);
      await this.#write(backfill, {
        cursorAt, created, skipped, finishedAt: clock.now(),
        ...(failed === 0 ? { status: 'succeeded' as const } : { status: 'failed' as const, error: `${failed} of the ${created} runs it created did not succeed` }),
      });
    } else if (cursorAt !== backfill.cursorAt) {
      await this.#write(backfill, { cursorAt, created, skipped });
    }
  }

  async #write(backfill: BackfillRecord, patch: Parameters<Store['updateBackfill']>[0]['patch']): Promise<void> {
    const updated = await this.#deps.store.updateBackfill({ id: backfill.id, owner: this.#deps.nodeId(), at: this.#deps.clock.now(), patch });
    // Cancelled, ended or adopted by another node: no longer ours.
    if (!updated || updated.status !== 'running') this.#owned.delete(backfill.id);
    else this.#owned.set(backfill.id, updated);
  }
}
