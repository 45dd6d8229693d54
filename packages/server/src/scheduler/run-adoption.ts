/**
 * Adoption sweeps: taking over the active runs of the buckets this node holds whose owner is dead
 * (or a previous process of this node), and resolving them (`recovery.ts`). One sweep runs at a
 * time; the scheduler asks for one at start, after each lease tick and after a presumed death,
 * when it also takes back its own runs, in any bucket, for a while.
 */
import { BUCKET_COUNT } from '../core/buckets.ts';
import type { Clock } from '../core/clock.ts';
import type { RunRecord } from '../core/model.ts';
import type { Store } from '../store/store.ts';
import type { BucketLeases } from './bucket-leases.ts';
import { recoverRuns, type RecoveryDeps } from './recovery.ts';

/** Most orphaned runs adopted in one sweep. */
const ADOPT_PAGE = 10_000;
/** A sweep running longer than this is presumed stuck (a store call the server dropped). */
const STALL_MS = 10_000;
/** After a presumed death, sweeps also take back this node's own runs this long. */
const OWN_RUNS_WINDOW_MS = 10_000;

export interface RunAdoptionDeps extends RecoveryDeps {
  store: Store;
  clock: Clock;
  leases: BucketLeases;
  /** Runs this node recorded or sent since it last started over: never adopted again. */
  isHeldHere: (runId: string) => boolean;
  /** Called with the runs adopted, after they are resolved. */
  onAdopted: (runs: RunRecord[]) => void;
  log: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

export class RunAdoption {
  readonly #d: RunAdoptionDeps;
  #running: Promise<void> | null = null;
  #since = 0;
  #generation = 0;
  #ownWanted = false;
  #ownUntil = -Infinity;
  #stopped = false;

  constructor(deps: RunAdoptionDeps) {
    this.#d = deps;
  }

  /** After a presumed death: this node's own runs are orphans too, in whatever bucket. */
  takeBackOwnRuns(): Promise<void> {
    this.#ownUntil = this.#d.clock.now() + OWN_RUNS_WINDOW_MS;
    this.#ownWanted = true;
    return this.sweep();
  }

  /** Runs a sweep, or returns the one running. */
  sweep(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (this.#running && this.#d.clock.now() - this.#since > STALL_MS) {
      this.#d.log('warn', 'an adoption sweep has not finished; starting another', { sinceMs: this.#d.clock.now() - this.#since });
      this.#running = null;
    }
    if (this.#running) return this.#running;
    this.#since = this.#d.clock.now();
    const generation = ++this.#generation;
    const sweep = (async () => {
      await Promise.resolve();
      const own = this.#ownWanted || this.#d.clock.now() < this.#ownUntil;
      this.#ownWanted = false;
      try {
        await this.#sweep(own);
      } catch (error) {
        if (own) this.#ownWanted = true;
        this.#d.log('error', 'adopting orphaned runs failed', { error: String(error) });
      } finally {
        if (this.#generation === generation) this.#running = null;
      }
      if (this.#ownWanted) await this.sweep();
    })();
    this.#running = sweep;
    return sweep;
  }

  /** Waits for the sweep in progress, and starts no more. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#running;
  }

  async #sweep(own: boolean): Promise<void> {
    const { store, leases } = this.#d;
    const all = [...Array(BUCKET_COUNT).keys()];
    const buckets = own ? all : leases.heldBuckets() ?? all;
    if (buckets.length === 0) return;
    const live = leases.liveNodeIds().filter((id) => !(own && id === leases.nodeId));
    const runs = (await store.adoptRuns({ nodeId: leases.nodeId, buckets, liveNodeIds: live, limit: ADOPT_PAGE }))
      .filter((run) => !this.#d.isHeldHere(run.id));
    if (runs.length === 0) return;
    const summary = await recoverRuns(this.#d, runs);
    this.#d.log('info', 'adopted unfinished runs', { ...summary });
    this.#d.onAdopted(runs);
  }
}
