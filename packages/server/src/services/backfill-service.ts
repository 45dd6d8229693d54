/**
 * Backfills of tasks and workflows: the fires their schedule would have had in a past range,
 * created by the scheduler (`scheduler/backfill-runner.ts`). Validated here: the range is past and
 * ordered, the schedule has fires in it, and no more than `maxCount`.
 */
import { BackfillRequestSchema, type BackfillRequest } from '@ecron/contracts';
import type { Clock } from '../core/clock.ts';
import { EcronError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { BackfillRecord, ScheduledRecord } from '../core/model.ts';
import { fireInstants } from '../scheduler/backfill-runner.ts';
import type { RunControl } from '../scheduler/run-control.ts';
import type { Store } from '../store/store.ts';
import { checkNamespaceAccess, type Caller, type RoleRequirement } from './access.ts';
import { validationError } from './task-spec-input.ts';

export interface BackfillService {
  /** Starts a backfill of `target` (loaded by its service, so visible to the caller): FORBIDDEN unless the caller is an operator in its namespace. */
  start(caller: Caller, target: ScheduledRecord, input: BackfillRequest | undefined): Promise<BackfillRecord>;
  get(caller: Caller, id: string): Promise<BackfillRecord>;
  list(caller: Caller, target: ScheduledRecord): Promise<BackfillRecord[]>;
  cancel(caller: Caller, id: string): Promise<BackfillRecord>;
  /** What became of the runs a backfill created. */
  runCounts(backfill: BackfillRecord): Promise<{ active: number; succeeded: number; failed: number }>;
}

const rangeError = (message: string, path: string) => new EcronError('BACKFILL_RANGE_INVALID', `${path}: ${message}`, { issues: [{ path, code: 'BACKFILL_RANGE_INVALID', message }] });

export function createBackfillService(deps: { store: Store; control: RunControl; clock: Clock }): BackfillService {
  const { store, control, clock } = deps;

  /** Backfill `id` for an operation that needs `needed` in its namespace (see `checkNamespaceAccess`). */
  async function load(caller: Caller, id: string, needed: RoleRequirement): Promise<BackfillRecord> {
    const backfill = await store.getBackfill(id);
    const notFound = () => new EcronError('BACKFILL_NOT_FOUND', `no backfill with id ${JSON.stringify(id)}`);
    if (!backfill) throw notFound();
    checkNamespaceAccess(caller, backfill.namespace, needed, notFound);
    return backfill;
  }

  return {
    async start(caller, target, input) {
      // The target was loaded for a viewer; a backfill creates runs, as a trigger does.
      checkNamespaceAccess(caller, target.namespace, 'operator', () => new EcronError('NOT_FOUND'));
      const parsed = BackfillRequestSchema.safeParse(input ?? {});
      if (!parsed.success) throw validationError(parsed.error);
      const { maxCount, concurrency } = parsed.data;
      const fromAt = Date.parse(parsed.data.from);
      const toAt = Date.parse(parsed.data.to);
      const now = clock.now();
      if (toAt < fromAt) throw rangeError('"to" is before "from"', 'to');
      if (toAt > now) throw rangeError('"to" is in the future: the scheduler fires those instants itself', 'to');
      const instants = fireInstants(target, fromAt, toAt, maxCount);
      if (instants.length === 0) {
        throw new EcronError('BACKFILL_EMPTY', `the schedule of ${target.name} has no fire from ${parsed.data.from} to ${parsed.data.to}`
          + ('manual' in target.spec.schedule || ('every' in target.spec.schedule && target.spec.schedule.mode === 'fixed-delay') ? ' (manual and fixed-delay schedules have no instants to backfill)' : ''));
      }
      if (instants.length > maxCount) {
        throw new EcronError('BACKFILL_TOO_LARGE', `the range holds more than ${maxCount} fires (maxCount): narrow it or raise maxCount`, { maxCount });
      }
      const backfill: BackfillRecord = {
        id: newId(), taskId: target.id, namespace: target.namespace, fromAt, toAt, concurrency, total: instants.length, cursorAt: null, created: 0, skipped: 0,
        status: 'running', error: null, owner: control.nodeId, actor: caller.actor, createdAt: now, updatedAt: now, finishedAt: null,
      };
      const created = await store.createBackfill({
        backfill, audit: { actor: caller.actor, action: `${target.kind}.backfill`, details: { taskId: target.id, from: parsed.data.from, to: parsed.data.to, total: instants.length, concurrency } },
      });
      control.startBackfill(created);
      return created;
    },

    get: (caller, id) => load(caller, id, 'viewer'),

    runCounts: (backfill) => store.countBackfillRuns(backfill.id),

    async list(_caller, target) {
      return store.listBackfills({ taskId: target.id, limit: 100 });
    },

    async cancel(caller, id) {
      const backfill = await load(caller, id, 'operator');
      const now = clock.now();
      const cancelled = await store.updateBackfill({
        id, at: now, patch: { status: 'cancelled', finishedAt: now }, audit: { actor: caller.actor, action: 'backfill.cancel', details: { taskId: backfill.taskId } },
      });
      if (!cancelled) throw new EcronError('BACKFILL_FINISHED', `backfill ${id} has already ended (${backfill.status})`);
      return cancelled;
    },
  };
}
