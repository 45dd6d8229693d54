/**
 * The storage verbs of alert silences (issue 19): maintenance windows during which the incidents of
 * some subjects still open and resolve, but no notification is written for them. Part of the
 * `Store` port (`store.ts` extends {@link AlertSilenceVerbs}); every store passes
 * `conformance/alert-silences.ts`. Which silence covers which incident is decided by the pure
 * `alerts/silences.ts` (`silencedBy`), over what {@link AlertSilenceVerbs.listActiveAlertSilences} read.
 *
 * A silence is in force over `[startsAt, endsAt)`. Only `endsAt` and `comment` change after it is
 * created; ending it early sets `endsAt` to now. Stores keep `startsAt <= endsAt` (a CHECK on the
 * SQL stores' tables), so a silence expired before it started is empty and never in force.
 * Each verb is one statement or one transaction; nothing here is compared-and-set, because a
 * silence has one writer at a time in practice and the last write wins (each is audited).
 */
import type { AlertSilenceScope } from '@ecron/contracts';
import type { AuditInput, Page, PageParams } from './store.ts';

export interface AlertSilenceRecord {
  id: string;
  namespace: string;
  /** Exactly one of taskId, workflowId, labels (not empty), namespace (the silence's own). */
  scope: AlertSilenceScope;
  /** Only the incidents of these rules; null: of every rule of the namespace. */
  ruleIds: string[] | null;
  /** In force from this instant (ms), included… */
  startsAt: number;
  /** …to this one, excluded. Never before startsAt. */
  endsAt: number;
  comment: string;
  /** The actor who created it (`token:<id>`, `user:<subject>`). */
  createdBy: string;
  createdAt: number;
  updatedAt: number;
}

export interface ListAlertSilencesParams extends PageParams {
  /** Only these namespaces (a caller's scope); null, absent or containing "*": all. */
  namespaces?: readonly string[] | null;
  namespace?: string;
  /** Only the silences in force at this instant: startsAt <= activeAt < endsAt. */
  activeAt?: number;
}

export interface AlertSilenceVerbs {
  // Audit entries have resourceType "alert-silence" and resourceId the silence's id.
  /** Writes the silence as given (its id is new). */
  createAlertSilence(p: { silence: AlertSilenceRecord; audit: AuditInput }): Promise<AlertSilenceRecord>;
  getAlertSilence(id: string): Promise<AlertSilenceRecord | null>;
  /** Newest start first: ordered by (startsAt, id) descending, keyed by that pair. */
  listAlertSilences(p: ListAlertSilencesParams): Promise<Page<AlertSilenceRecord>>;
  /**
   * Sets endsAt and comment, and updatedAt to `at`. Null when there is no such silence. Throws
   * VALIDATION_FAILED (issue `endsAt`) when endsAt is before the silence's startsAt.
   */
  updateAlertSilence(p: { id: string; changes: Pick<AlertSilenceRecord, 'endsAt' | 'comment'>; at: number; audit: AuditInput }): Promise<AlertSilenceRecord | null>;
  /** False when there was none (nothing written). */
  deleteAlertSilence(p: { id: string; at: number; audit: AuditInput }): Promise<boolean>;
  /** Every silence of every namespace in force at `at`, by (startsAt, id): what the evaluator matches incidents against. */
  listActiveAlertSilences(p: { at: number }): Promise<AlertSilenceRecord[]>;
}
