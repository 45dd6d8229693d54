/**
 * The storage verbs of map/reduce (issue 20): a run's map (one row per run, `run_maps`) and its
 * subtasks (`run_subtasks`, keyed by run and index; the reduce is index -1). Part of the `Store`
 * port (`store.ts` extends {@link RunSubtaskVerbs}); every store passes `conformance/run-subtasks.ts`.
 * The pure rules every store applies alike are at the bottom of this file.
 *
 * Concurrency contract:
 * - Every transition of a subtask into a final state, and every change of a map's state, happens
 *   in a transaction that holds the map's row (`FOR UPDATE` on the SQL stores; SQLite has one
 *   writer). So the transaction that ends the last subtask sees every other end, and it alone
 *   moves the map from `running` to `reducing` (inserting the one reduce subtask) or to a final
 *   state: a compare-and-set on the map's state. No race can skip the reduce or queue it twice.
 * - Claims take pending rows with `FOR UPDATE SKIP LOCKED` (SQL) or under the single writer
 *   (SQLite): two concurrent claims never get the same subtask. A claim increments the subtask's
 *   `lease` number; a result or an extension must name the current lease and node, so a node
 *   whose lease expired (and was taken over) changes nothing.
 * - Instants of leases are the store's clock.
 */
import type { BackoffPolicy, MapState, SubtaskState } from '@ecron/contracts';
import { retryDelay } from '../core/backoff.ts';
import type { Page } from './store.ts';

export interface RunMapRecord {
  runId: string;
  /** The run's attempt that emitted the map; a newer attempt starts a new map. */
  attempt: number;
  namespace: string;
  /** The executor group whose nodes claim the subtasks. */
  group: string;
  state: MapState;
  reduce: string | null;
  maxAttempts: number;
  onSubtaskFailure: 'fail-run' | 'continue';
  maxFailedRatio: number | null;
  /** The delay between the tries of a subtask (the task's retry backoff). */
  backoff: BackoffPolicy;
  /** Map subtasks emitted (the reduce not counted). */
  total: number;
  /** Once final: what the run ends with. */
  output: unknown;
  error: string | null;
  createdAt: number;
  sealedAt: number | null;
  finishedAt: number | null;
}

/** The map subtasks by state (the reduce not counted). */
export interface MapCounts {
  pending: number;
  running: number;
  succeeded: number;
  failed: number;
  cancelled: number;
}

export interface SubtaskRecord {
  runId: string;
  /** 0, 1, … in emission order; -1 for the reduce. */
  index: number;
  attempt: number;
  kind: 'map' | 'reduce';
  handler: string;
  payload: unknown;
  state: SubtaskState;
  /** Claims so far: the fencing number of the current one. */
  lease: number;
  /** Claims that ended by an expired lease (not counted as tries). */
  lost: number;
  maxAttempts: number;
  /** The nodes that claimed it, in order. */
  executors: string[];
  /** A pending subtask is claimable from this instant. */
  availableAt: number;
  leaseExpiresAt: number | null;
  output: unknown;
  error: string | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
}

/** Tries a subtask has had (expired leases are not its fault). */
export const triesOf = (subtask: Pick<SubtaskRecord, 'lease' | 'lost'>): number => subtask.lease - subtask.lost;

/** What ending a map means for its run: the caller ends the run's attempt with it. */
export interface MapDecision {
  runId: string;
  attempt: number;
  status: 'succeeded' | 'failed';
  output?: unknown;
  error?: string | null;
}

export interface NewMapOptions {
  reduce: string | null;
  maxAttempts: number;
  onSubtaskFailure: 'fail-run' | 'continue';
  maxFailedRatio: number | null;
  backoff: BackoffPolicy;
}

export interface SubtaskOutcome {
  runId: string;
  index: number;
  lease: number;
  status: 'succeeded' | 'failed';
  output?: unknown;
  error?: string | null;
}

export interface ReportSubtasksResult {
  /** The results that matched a current lease, as the subtasks now are. */
  accepted: SubtaskRecord[];
  /** Maps this call ended (the caller ends their runs). */
  decisions: MapDecision[];
  /** True when this call queued a reduce or a retry (claimers should look again). */
  claimable: boolean;
}

export interface SweepSubtasksResult {
  /** Subtasks whose lease expired, pending again (or failed after too many expiries). */
  released: number;
  /** Maps cancelled because their run ended or moved to another attempt. */
  cancelled: number;
  /** Maps decided before `decidedBefore` whose run is still in flight at that attempt. */
  decisions: MapDecision[];
}

export interface RunSubtaskVerbs {
  /**
   * Appends subtasks `offset…offset + payloads.length − 1` (payloads are JSON text) to the map of
   * the run's current attempt, creating the map on the first call (a map of an older attempt and
   * its subtasks are dropped then). Indexes already stored are skipped (a batch sent again).
   * Throws RUN_NOT_FOUND; MAP_NOT_ALLOWED unless the run is in flight at `attempt`; MAP_SEALED;
   * MAP_OPTIONS_CONFLICT when `options` differ from the map's; MAP_OFFSET_GAP when `offset` is past
   * the subtasks stored; MAP_TOO_LARGE past `maxTotal`.
   */
  appendSubtasks(p: {
    runId: string; attempt: number; offset: number; handler: string; payloads: string[]; options: NewMapOptions;
    namespace: string; group: string; maxTotal: number;
  }): Promise<{ total: number; inserted: number }>;
  /**
   * Seals the map of `attempt` (no more subtasks): `mapping` → `running`, and decides it at once
   * when every subtask has ended already. Null when the run has no map at that attempt; a map
   * sealed already is returned as it is (decision null).
   */
  sealMap(p: { runId: string; attempt: number }): Promise<{ map: RunMapRecord; decision: MapDecision | null } | null>;
  getRunMap(runId: string): Promise<(RunMapRecord & { counts: MapCounts }) | null>;
  /**
   * Claims up to `limit` pending subtasks of maps in the group, for handlers among `handlers`,
   * that are available now, oldest first, and leases them to `executor` for `leaseMs`. A subtask
   * whose last try failed on `executor` is left to other nodes for `avoidMs` after it became
   * available. Subtasks of maps no longer running (their run ended) are not claimed.
   */
  claimSubtasks(p: { executor: string; namespace: string; group: string; handlers: string[]; limit: number; leaseMs: number; avoidMs: number }): Promise<SubtaskRecord[]>;
  /**
   * Records outcomes, each a compare-and-set on (running, lease, executor). A failure with tries
   * left goes back to pending after the map's backoff; otherwise it is final. Decides maps as the
   * contract above says: fail-run on a final failure (pending and running subtasks cancelled),
   * or, once none is pending or running and the map is sealed: the reduce queued, or the map
   * ended (failed past maxFailedRatio). A reduce's outcome ends its map.
   */
  reportSubtasks(p: { executor: string; results: SubtaskOutcome[] }): Promise<ReportSubtasksResult>;
  /** Extends the leases `executor` holds among `keys` to now + leaseMs; returns the keys it no longer holds. */
  extendSubtaskLeases(p: { executor: string; keys: { runId: string; index: number; lease: number }[]; leaseMs: number }): Promise<{ runId: string; index: number }[]>;
  /**
   * Ends now the leases `executor` holds (a node that left the registry: killed, or gone silent),
   * so that the next sweep gives its subtasks to the other nodes instead of waiting out the lease.
   * Returns how many. A report of the node that comes later is refused by its lease number.
   */
  expireSubtaskLeasesOf(p: { executor: string }): Promise<number>;
  /** A run's subtasks by index (the reduce first), optionally in one state. */
  listSubtasks(p: { runId: string; state?: SubtaskState; cursor?: string | null; limit: number }): Promise<Page<SubtaskRecord>>;
  /** Ended map subtasks of the run's map with index > afterIndex, by index: what the reduce reads. */
  readSubtaskResults(p: { runId: string; afterIndex: number; limit: number }): Promise<SubtaskRecord[]>;
  /**
   * Maintenance, any node, any time: expired leases go back to pending (a subtask that lost
   * `maxLost` leases fails); maps whose run ended or moved on are cancelled with their subtasks;
   * maps decided before `decidedBefore` whose run is still at their attempt are returned to be ended.
   */
  sweepSubtasks(p: { limit: number; maxLost: number; decidedBefore: number }): Promise<SweepSubtasksResult>;
  /** Cancels the run's map (not final yet) and its pending and running subtasks; false when there was nothing to cancel. */
  cancelMap(p: { runId: string; error: string }): Promise<boolean>;
}

// ---- the rules every store applies ------------------------------------------------------------

/** A subtask's fields after an outcome (the caller checked the lease): retried while tries remain and the map is active. */
export function subtaskAfter(subtask: SubtaskRecord, outcome: SubtaskOutcome, map: RunMapRecord, now: number): SubtaskRecord {
  const ended: SubtaskRecord = {
    ...subtask, leaseExpiresAt: null, output: outcome.output ?? null, error: outcome.status === 'succeeded' ? null : (outcome.error ?? 'failed'),
  };
  if (outcome.status === 'succeeded') return { ...ended, state: 'succeeded', finishedAt: now };
  const tries = triesOf(subtask);
  if (tries < subtask.maxAttempts && isActiveMap(map.state)) {
    return { ...ended, state: 'pending', availableAt: now + retryDelay(map.backoff, tries, () => 0) };
  }
  return { ...ended, state: 'failed', finishedAt: now };
}

/** What a map in `running` (sealed) with nothing pending or running comes to. */
export function decideSealedMap(map: RunMapRecord, counts: MapCounts): { state: 'reducing' } | { state: 'succeeded'; output: unknown } | { state: 'failed'; error: string } {
  const ended = counts.succeeded + counts.failed + counts.cancelled;
  if (map.maxFailedRatio !== null && ended > 0 && counts.failed / ended > map.maxFailedRatio) {
    return { state: 'failed', error: `${counts.failed} of ${ended} subtasks failed, more than maxFailedRatio ${map.maxFailedRatio}` };
  }
  if (map.reduce !== null) return { state: 'reducing' };
  return { state: 'succeeded', output: { total: map.total, succeeded: counts.succeeded, failed: counts.failed } };
}

/** The error a fail-run map ends with when subtask `index` failed for good. */
export const failRunError = (subtask: SubtaskRecord): string => `subtask ${subtask.index} failed after ${triesOf(subtask)} tries: ${subtask.error ?? 'failed'}`;

/** Options equal (a later call of `ctx.map` must repeat the first's). */
export function sameMapOptions(map: RunMapRecord, options: NewMapOptions): boolean {
  return map.reduce === options.reduce && map.maxAttempts === options.maxAttempts && map.onSubtaskFailure === options.onSubtaskFailure
    && map.maxFailedRatio === options.maxFailedRatio;
}

export const ACTIVE_MAP_STATES: readonly MapState[] = ['mapping', 'running', 'reducing'];
export const isActiveMap = (state: MapState): boolean => ACTIVE_MAP_STATES.includes(state);
