/**
 * The workflow runs a scheduler node supervises: those its fires and triggers created, and those
 * it adopted from dead nodes. A workflow run is not sent anywhere: starting it creates its nodes
 * and activates its roots (one store transaction); from then on it advances in the transactions
 * that end its nodes' runs, on whichever node ends them. What this class keeps is what the store
 * cannot do by itself: the workflow run's deadline (`timeoutMs`), the count of a workflow's
 * active runs (for its overlap policy), and the effects each transaction reports (runs to send,
 * workflow runs that ended, node runs to cancel).
 */
import { EventEmitter } from 'node:events';
import type { Clock } from '../core/clock.ts';
import type { RunRecord, WorkflowRecord } from '../core/model.ts';
import type { WorkflowAction } from '../core/workflow/transaction.ts';
import type { AuditInput, Store, WorkflowEffects } from '../store/store.ts';
import { TimerQueue } from './timer-queue.ts';
import { runLogFields } from '../observability/trace-ids.ts';

export interface WorkflowRunsDeps {
  store: Store;
  clock: Clock;
  /** This scheduler node: the owner of the node runs it activates. */
  nodeId: () => string;
  /** Sends node runs this node owns (pending, attempt 0). */
  launchNodeRuns: (runs: RunRecord[]) => void;
  /** Cancels a node run wherever it is supervised. */
  cancelRun: (runId: string) => Promise<unknown>;
  /** A workflow run this node supervised ended. */
  onEnded: (run: RunRecord) => void;
  log: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

export interface WorkflowRunsEvents {
  /** A workflow run started here: its nodes exist and its roots were activated. */
  started: [RunRecord];
}

export class WorkflowRuns {
  readonly events = new EventEmitter<WorkflowRunsEvents>();
  readonly #deps: WorkflowRunsDeps;
  /** Workflow runs supervised here, by workflow id. */
  readonly #active = new Map<string, Set<string>>();
  readonly #deadlines: TimerQueue<RunRecord>;
  #stopped = false;

  constructor(deps: WorkflowRunsDeps) {
    this.#deps = deps;
    this.#deadlines = new TimerQueue(deps.clock, (due) => {
      for (const { value } of due) {
        void this.act(value.id, { kind: 'cancel', status: 'failed', error: 'the workflow run timed out' })
          .catch((error) => deps.log('warn', 'ending a timed-out workflow run failed', { ...runLogFields(value), error: String(error) }));
      }
    });
  }

  activeCount(workflowId: string): number {
    return this.#active.get(workflowId)?.size ?? 0;
  }

  activeRunIds(workflowId: string): string[] {
    return [...(this.#active.get(workflowId) ?? [])];
  }

  isTracked(runId: string): boolean {
    for (const ids of this.#active.values()) if (ids.has(runId)) return true;
    return false;
  }

  /** Counts a recorded workflow run as active before it starts (the overlap policy sees it). */
  reserve(run: RunRecord): void {
    let ids = this.#active.get(run.taskId);
    if (!ids) this.#active.set(run.taskId, (ids = new Set()));
    ids.add(run.id);
  }

  /** Starts a workflow run recorded by a fire or a trigger (or adopted: a no-op if it had started). */
  launch(run: RunRecord, workflow: WorkflowRecord): void {
    if (this.#stopped) return;
    this.reserve(run);
    const deadlineAt = run.deadlineAt ?? (workflow.spec.timeoutMs !== undefined && run.startedAt !== null ? run.startedAt + workflow.spec.timeoutMs : null);
    if (deadlineAt !== null) this.#deadlines.set(run.id, deadlineAt, run);
    void this.act(run.id, { kind: 'start' }).then((result) => {
      if (result) this.events.emit('started', result);
    }).catch((error) => this.#deps.log('error', 'starting a workflow run failed', { ...runLogFields(run), error: String(error) }));
  }

  /** Applies an action to a workflow run (store transaction), then its effects. Null: nothing to do. */
  async act(runId: string, action: WorkflowAction, audit?: AuditInput): Promise<RunRecord | null> {
    const result = await this.#deps.store.actOnWorkflowRun({ runId, action, at: this.#deps.clock.now(), owner: this.#deps.nodeId(), ...(audit ? { audit } : {}) });
    if (!result) return null;
    await this.apply(result.effects);
    return result.run;
  }

  /** What a transaction did to workflow runs: send, tell, cancel. */
  async apply(effects: WorkflowEffects | undefined): Promise<void> {
    if (!effects) return;
    const me = this.#deps.nodeId();
    const mine = effects.activated.filter((run) => run.owner === me);
    if (mine.length > 0 && !this.#stopped) this.#deps.launchNodeRuns(mine);
    const elsewhere = effects.activated.filter((run) => run.owner !== me);
    const notices = [...elsewhere.map((run) => run.id)];
    for (const run of effects.workflowRuns) {
      if (this.#forget(run)) continue;
      if (run.finishedAt === null && run.owner === me) {
        // Reopened by a recovery action: supervised here again.
        this.reserve(run);
        continue;
      }
      notices.push(run.id);
    }
    if (notices.length > 0) await this.#deps.store.publishChanges(notices.map((id) => ({ kind: 'workflow' as const, id })));
    await Promise.all(effects.cancel.map((id) => this.#deps.cancelRun(id).catch(() => undefined)));
  }

  /** A workflow run that ended and was supervised here: forgotten and reported. */
  #forget(run: RunRecord): boolean {
    if (run.finishedAt === null) return false;
    const ids = this.#active.get(run.taskId);
    if (!ids?.delete(run.id)) return false;
    if (ids.size === 0) this.#active.delete(run.taskId);
    this.#deadlines.delete(run.id);
    this.#deps.onEnded(run);
    return true;
  }

  /** A workflow run changed elsewhere (store change feed). */
  reconcile(run: RunRecord): void {
    if (run.finishedAt !== null) this.#forget(run);
    else if (run.owner === this.#deps.nodeId() && !this.isTracked(run.id)) this.reserve(run);
  }

  /** Drops everything without writing (crash, presumed death). */
  reset(): void {
    this.#active.clear();
    this.#deadlines.clear();
  }

  stop(): void {
    this.#stopped = true;
    this.#deadlines.stop();
  }
}
