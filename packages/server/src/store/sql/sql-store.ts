/**
 * The Store over a SQL server (PostgreSQL or MySQL/MariaDB), written once: the verbs live in
 * this folder and speak through kysely `sql` templates and the dialect's capability object; the
 * dialect folders only build the pool, the dialect and the migrations.
 *
 * Unlike SQLite, many processes share one database: every verb is one transaction on a pooled
 * connection, compare-and-set verbs lock the rows they test, and migrations run under a
 * database-wide lock.
 */
import type { Kysely } from 'kysely';
import { EcronError } from '../../core/errors.ts';
import type { Store } from '../store.ts';
import * as attempts from './attempts.ts';
import * as backfills from './backfills.ts';
import * as changeFeed from './change-feed.ts';
import * as cluster from './cluster.ts';
import type { SqlContext } from './context.ts';
import type { SqlDialect } from './dialect.ts';
import * as executors from './executors.ts';
import * as executorGroups from './executor-groups.ts';
import * as fires from './fires.ts';
import * as namespaces from './namespaces.ts';
import * as runLogs from './run-logs.ts';
import * as idempotency from './idempotency.ts';
import * as events from './events.ts';
import * as subscriptions from './event-subscriptions.ts';
import * as alertConfig from './alerts-config.ts';
import * as alertIncidents from './alert-incidents.ts';
import * as alertSilences from './alert-silences.ts';
import * as runSubtasks from './run-subtasks.ts';
import * as sessions from './sessions.ts';
import * as runs from './runs.ts';
import * as taskBatch from './task-batch.ts';
import * as taskBulk from './task-bulk.ts';
import * as tasks from './tasks.ts';
import * as tokensAudit from './tokens-audit.ts';
import * as workflows from './workflows.ts';

export interface SqlStoreOptions {
  dialect: SqlDialect;
  /** Names the store in error messages (never with a password). */
  description: string;
  /** A new kysely instance over a new pool; destroyed on close. */
  createDb: () => Kysely<unknown>;
  /** Applies pending migrations (under the migration lock). */
  migrate: (db: Kysely<unknown>) => Promise<void>;
}

class SqlStore implements Store {
  readonly #options: SqlStoreOptions;
  #context: SqlContext | null = null;
  #opening: Promise<void> | null = null;
  readonly #changes = new changeFeed.SqlChangeWatcher(() => {
    if (this.#context === null) throw new EcronError('STORE_UNAVAILABLE', `${this.#options.description} is not open`);
    return this.#context;
  });

  constructor(options: SqlStoreOptions) {
    this.#options = options;
  }

  /** EcronErrors as they are; failures of the database or connection as STORE_UNAVAILABLE. */
  #classify(error: unknown): unknown {
    if (error instanceof EcronError) return error;
    return this.#options.dialect.classifyError(error);
  }

  /** Runs a verb on the open store, classifying what it throws. */
  async #use<T>(verb: (ctx: SqlContext) => Promise<T>): Promise<T> {
    if (this.#context === null) throw new EcronError('STORE_UNAVAILABLE', `${this.#options.description} is not open`);
    try {
      return await verb(this.#context);
    } catch (error) {
      throw this.#classify(error);
    }
  }

  open(): Promise<void> {
    this.#opening ??= this.#open().catch((error: unknown) => {
      this.#opening = null;
      throw error;
    });
    return this.#opening;
  }

  async #open(): Promise<void> {
    const db = this.#options.createDb();
    try {
      await this.#options.migrate(db);
    } catch (error) {
      await db.destroy().catch(() => undefined);
      const classified = this.#classify(error);
      if (classified instanceof EcronError) throw classified;
      throw new EcronError('STORE_UNAVAILABLE', `cannot open ${this.#options.description}: ${(error as Error).message}`);
    }
    this.#context = { db, dialect: this.#options.dialect };
  }

  async close(): Promise<void> {
    await this.#opening?.catch(() => undefined);
    await this.#changes.stop();
    const context = this.#context;
    this.#context = null;
    this.#opening = null;
    await context?.db.destroy();
  }

  now(): Promise<number> {
    return this.#use((ctx) => cluster.dbNow(ctx, ctx.db));
  }

  // ---- tasks
  createTask: Store['createTask'] = (p) => this.#use((ctx) => tasks.createTask(ctx, p));
  getTask: Store['getTask'] = (id) => this.#use((ctx) => tasks.getOfKind(ctx, id, 'task'));
  getTaskByName: Store['getTaskByName'] = (namespace, name) => this.#use((ctx) => tasks.getByName(ctx, namespace, name, 'task'));
  listTasks: Store['listTasks'] = (p) => this.#use((ctx) => tasks.listTasks(ctx, 'task', p));
  getWorkflow: Store['getWorkflow'] = (id) => this.#use((ctx) => tasks.getOfKind(ctx, id, 'workflow'));
  getWorkflowByName: Store['getWorkflowByName'] = (namespace, name) => this.#use((ctx) => tasks.getByName(ctx, namespace, name, 'workflow'));
  listWorkflows: Store['listWorkflows'] = (p) => this.#use((ctx) => tasks.listTasks(ctx, 'workflow', p));
  getScheduled: Store['getScheduled'] = (id) => this.#use((ctx) => tasks.getScheduled(ctx, id));
  updateTask: Store['updateTask'] = (p) => this.#use((ctx) => tasks.updateTask(ctx, 'task', p));
  updateWorkflow: Store['updateWorkflow'] = (p) => this.#use((ctx) => tasks.updateTask(ctx, 'workflow', p));
  setTaskState: Store['setTaskState'] = (p) => this.#use((ctx) => tasks.setTaskState(ctx, 'task', p));
  setWorkflowState: Store['setWorkflowState'] = (p) => this.#use((ctx) => tasks.setTaskState(ctx, 'workflow', p));
  deleteTask: Store['deleteTask'] = (p) => this.#use((ctx) => tasks.deleteTask(ctx, 'task', p));
  deleteWorkflow: Store['deleteWorkflow'] = (p) => this.#use((ctx) => tasks.deleteTask(ctx, 'workflow', p));
  listTaskRevisions: Store['listTaskRevisions'] = (taskId) => this.#use((ctx) => tasks.listTaskRevisions(ctx, taskId));
  getTaskRevision: Store['getTaskRevision'] = (p) => this.#use((ctx) => tasks.getTaskRevision(ctx, p));
  getScheduledByNames: Store['getScheduledByNames'] = (p) => this.#use((ctx) => taskBatch.getScheduledByNames(ctx, p));
  upsertTasks: Store['upsertTasks'] = (p) => this.#use((ctx) => taskBatch.upsertTasks(ctx, p));
  getTasks: Store['getTasks'] = (p) => this.#use((ctx) => taskBulk.getTasks(ctx, p));
  setTaskStates: Store['setTaskStates'] = (p) => this.#use((ctx) => taskBulk.setTaskStates(ctx, p));
  deleteTasks: Store['deleteTasks'] = (p) => this.#use((ctx) => taskBulk.deleteTasks(ctx, p));
  listWorkflowNodes: Store['listWorkflowNodes'] = (runId) => this.#use((ctx) => workflows.listWorkflowNodes(ctx, runId));
  actOnWorkflowRun: Store['actOnWorkflowRun'] = (p) => this.#use((ctx) => workflows.actOnWorkflowRun(ctx, p));

  // ---- scheduling
  listDueTasks: Store['listDueTasks'] = (p) => this.#use((ctx) => fires.listDueTasks(ctx, p));
  recordFires: Store['recordFires'] = (list, fence) => this.#use((ctx) => fires.recordFires(ctx, list, fence));
  createRun: Store['createRun'] = (p) => this.#use((ctx) => fires.createRun(ctx, p));

  // ---- runs
  getRun: Store['getRun'] = (id) => this.#use((ctx) => runs.getRun(ctx, id));
  listRuns: Store['listRuns'] = (p) => this.#use((ctx) => runs.listRuns(ctx, p));
  listAttempts: Store['listAttempts'] = (runIds) => this.#use((ctx) => runs.listAttempts(ctx, runIds));
  listActiveRuns: Store['listActiveRuns'] = (p) => this.#use((ctx) => runs.listActiveRuns(ctx, p));
  startAttempts: Store['startAttempts'] = (items) => this.#use((ctx) => attempts.startAttempts(ctx, items));
  markRunning: Store['markRunning'] = (p) => this.#use((ctx) => runs.markRunning(ctx, p));
  markSent: Store['markSent'] = (items) => this.#use((ctx) => attempts.markSent(ctx, items));
  finishAttempts: Store['finishAttempts'] = (items) => this.#use((ctx) => attempts.finishAttempts(ctx, items));
  finishRun: Store['finishRun'] = (p) => this.#use((ctx) => runs.finishRun(ctx, p));
  deleteHistory: Store['deleteHistory'] = (p) => this.#use((ctx) => runs.deleteHistory(ctx, p));
  acceptReport: Store['acceptReport'] = (p) => this.#use((ctx) => runs.acceptReport(ctx, p));
  appendRunLogs: Store['appendRunLogs'] = (lines) => this.#use((ctx) => runLogs.appendRunLogs(ctx, lines));
  listRunLogs: Store['listRunLogs'] = (p) => this.#use((ctx) => runLogs.listRunLogs(ctx, p));

  // ---- backfills
  createBackfill: Store['createBackfill'] = (p) => this.#use((ctx) => backfills.createBackfill(ctx, p));
  getBackfill: Store['getBackfill'] = (id) => this.#use((ctx) => backfills.getBackfill(ctx, id));
  listBackfills: Store['listBackfills'] = (p) => this.#use((ctx) => backfills.listBackfills(ctx, p));
  updateBackfill: Store['updateBackfill'] = (p) => this.#use((ctx) => backfills.updateBackfill(ctx, p));
  adoptBackfills: Store['adoptBackfills'] = (p) => this.#use((ctx) => backfills.adoptBackfills(ctx, p));
  countBackfillRuns: Store['countBackfillRuns'] = (id) => this.#use((ctx) => backfills.countBackfillRuns(ctx, id));

  // ---- cluster
  heartbeatNode: Store['heartbeatNode'] = (p) => this.#use((ctx) => cluster.heartbeatNode(ctx, p));
  removeNode: Store['removeNode'] = (p) => this.#use((ctx) => cluster.removeNode(ctx, p.nodeId));
  listNodes: Store['listNodes'] = () => this.#use((ctx) => cluster.listNodes(ctx));
  listBucketLeases: Store['listBucketLeases'] = () => this.#use((ctx) => cluster.listBucketLeases(ctx));
  acquireBuckets: Store['acquireBuckets'] = (p) => this.#use((ctx) => cluster.acquireBuckets(ctx, p));
  renewBuckets: Store['renewBuckets'] = (p) => this.#use((ctx) => cluster.renewBuckets(ctx, p));
  releaseBuckets: Store['releaseBuckets'] = (p) => this.#use((ctx) => cluster.releaseBuckets(ctx, p));
  adoptRuns: Store['adoptRuns'] = (p) => this.#use((ctx) => cluster.adoptRuns(ctx, p));
  ensureSecret: Store['ensureSecret'] = (p) => this.#use((ctx) => cluster.ensureSecret(ctx, p));
  // ---- event log
  readEvents: Store['readEvents'] = (p) => this.#use((ctx) => events.readEvents(ctx, p));
  sequenceEvents: Store['sequenceEvents'] = (p) => this.#use((ctx) => events.sequenceEvents(ctx, p));
  lastEventSeq: Store['lastEventSeq'] = () => this.#use((ctx) => events.lastEventSeq(ctx));
  oldestEventSeq: Store['oldestEventSeq'] = () => this.#use((ctx) => events.oldestEventSeq(ctx));
  deleteEvents: Store['deleteEvents'] = (p) => this.#use((ctx) => events.deleteEvents(ctx, p));
  // ---- event subscriptions
  createSubscription: Store['createSubscription'] = (p) => this.#use((ctx) => subscriptions.createSubscription(ctx, p));
  getSubscription: Store['getSubscription'] = (id) => this.#use((ctx) => subscriptions.getSubscription(ctx, id));
  listSubscriptions: Store['listSubscriptions'] = (p) => this.#use((ctx) => subscriptions.listSubscriptions(ctx, p));
  setSubscriptionState: Store['setSubscriptionState'] = (p) => this.#use((ctx) => subscriptions.setSubscriptionState(ctx, p));
  deleteSubscription: Store['deleteSubscription'] = (p) => this.#use((ctx) => subscriptions.deleteSubscription(ctx, p));
  claimSubscriptions: Store['claimSubscriptions'] = (p) => this.#use((ctx) => subscriptions.claimSubscriptions(ctx, p));
  releaseSubscriptions: Store['releaseSubscriptions'] = (p) => this.#use((ctx) => subscriptions.releaseSubscriptions(ctx, p));
  advanceSubscription: Store['advanceSubscription'] = (p) => this.#use((ctx) => subscriptions.advanceSubscription(ctx, p));
  listDeadLetters: Store['listDeadLetters'] = (p) => this.#use((ctx) => subscriptions.listDeadLetters(ctx, p));
  deleteDeadLetters: Store['deleteDeadLetters'] = (p) => this.#use((ctx) => subscriptions.deleteDeadLetters(ctx, p));
  // ---- alert channels and rules (store/alerts-config.ts)
  createAlertChannel: Store['createAlertChannel'] = (p) => this.#use((ctx) => alertConfig.createAlertChannel(ctx, p));
  getAlertChannel: Store['getAlertChannel'] = (id) => this.#use((ctx) => alertConfig.getAlertChannel(ctx, id));
  getAlertChannelsByName: Store['getAlertChannelsByName'] = (p) => this.#use((ctx) => alertConfig.getAlertChannelsByName(ctx, p));
  listAlertChannels: Store['listAlertChannels'] = (p) => this.#use((ctx) => alertConfig.listAlertChannels(ctx, p));
  updateAlertChannel: Store['updateAlertChannel'] = (p) => this.#use((ctx) => alertConfig.updateAlertChannel(ctx, p));
  deleteAlertChannel: Store['deleteAlertChannel'] = (p) => this.#use((ctx) => alertConfig.deleteAlertChannel(ctx, p));
  recordAlertChannelResult: Store['recordAlertChannelResult'] = (p) => this.#use((ctx) => alertConfig.recordAlertChannelResult(ctx, p));
  createAlertRule: Store['createAlertRule'] = (p) => this.#use((ctx) => alertConfig.createAlertRule(ctx, p));
  getAlertRule: Store['getAlertRule'] = (id) => this.#use((ctx) => alertConfig.getAlertRule(ctx, id));
  listAlertRules: Store['listAlertRules'] = (p) => this.#use((ctx) => alertConfig.listAlertRules(ctx, p));
  listEnabledAlertRules: Store['listEnabledAlertRules'] = () => this.#use((ctx) => alertConfig.listEnabledAlertRules(ctx));
  updateAlertRule: Store['updateAlertRule'] = (p) => this.#use((ctx) => alertConfig.updateAlertRule(ctx, p));
  setAlertRuleEnabled: Store['setAlertRuleEnabled'] = (p) => this.#use((ctx) => alertConfig.setAlertRuleEnabled(ctx, p));
  deleteAlertRule: Store['deleteAlertRule'] = (p) => this.#use((ctx) => alertConfig.deleteAlertRule(ctx, p));
  // ---- alert incidents and notifications (store/alert-incidents.ts)
  claimAlertEvaluator: Store['claimAlertEvaluator'] = (p) => this.#use((ctx) => alertIncidents.claimAlertEvaluator(ctx, p));
  releaseAlertEvaluator: Store['releaseAlertEvaluator'] = (p) => this.#use((ctx) => alertIncidents.releaseAlertEvaluator(ctx, p));
  applyAlertChanges: Store['applyAlertChanges'] = (p) => this.#use((ctx) => alertIncidents.applyAlertChanges(ctx, p));
  repeatAlertIncidents: Store['repeatAlertIncidents'] = (p) => this.#use((ctx) => alertIncidents.repeatAlertIncidents(ctx, p));
  getIncident: Store['getIncident'] = (id) => this.#use((ctx) => alertIncidents.getIncident(ctx, id));
  listIncidents: Store['listIncidents'] = (p) => this.#use((ctx) => alertIncidents.listIncidents(ctx, p));
  listUnresolvedIncidents: Store['listUnresolvedIncidents'] = () => this.#use((ctx) => alertIncidents.listUnresolvedIncidents(ctx));
  acknowledgeIncident: Store['acknowledgeIncident'] = (p) => this.#use((ctx) => alertIncidents.acknowledgeIncident(ctx, p));
  resolveIncident: Store['resolveIncident'] = (p) => this.#use((ctx) => alertIncidents.resolveIncident(ctx, p));
  listIncidentNotifications: Store['listIncidentNotifications'] = (p) => this.#use((ctx) => alertIncidents.listIncidentNotifications(ctx, p));
  claimAlertNotifications: Store['claimAlertNotifications'] = (p) => this.#use((ctx) => alertIncidents.claimAlertNotifications(ctx, p));
  finishAlertNotification: Store['finishAlertNotification'] = (p) => this.#use((ctx) => alertIncidents.finishAlertNotification(ctx, p));
  // ---- alert silences (store/alert-silences.ts)
  createAlertSilence: Store['createAlertSilence'] = (p) => this.#use((ctx) => alertSilences.createAlertSilence(ctx, p));
  getAlertSilence: Store['getAlertSilence'] = (id) => this.#use((ctx) => alertSilences.getAlertSilence(ctx, id));
  listAlertSilences: Store['listAlertSilences'] = (p) => this.#use((ctx) => alertSilences.listAlertSilences(ctx, p));
  updateAlertSilence: Store['updateAlertSilence'] = (p) => this.#use((ctx) => alertSilences.updateAlertSilence(ctx, p));
  deleteAlertSilence: Store['deleteAlertSilence'] = (p) => this.#use((ctx) => alertSilences.deleteAlertSilence(ctx, p));
  listActiveAlertSilences: Store['listActiveAlertSilences'] = (p) => this.#use((ctx) => alertSilences.listActiveAlertSilences(ctx, p));
  // ---- map/reduce (store/run-subtasks.ts)
  appendSubtasks: Store['appendSubtasks'] = (p) => this.#use((ctx) => runSubtasks.appendSubtasks(ctx, p));
  sealMap: Store['sealMap'] = (p) => this.#use((ctx) => runSubtasks.sealMap(ctx, p));
  getRunMap: Store['getRunMap'] = (runId) => this.#use((ctx) => runSubtasks.getRunMap(ctx, runId));
  claimSubtasks: Store['claimSubtasks'] = (p) => this.#use((ctx) => runSubtasks.claimSubtasks(ctx, p));
  reportSubtasks: Store['reportSubtasks'] = (p) => this.#use((ctx) => runSubtasks.reportSubtasks(ctx, p));
  extendSubtaskLeases: Store['extendSubtaskLeases'] = (p) => this.#use((ctx) => runSubtasks.extendSubtaskLeases(ctx, p));
  expireSubtaskLeasesOf: Store['expireSubtaskLeasesOf'] = (p) => this.#use((ctx) => runSubtasks.expireSubtaskLeasesOf(ctx, p));
  listSubtasks: Store['listSubtasks'] = (p) => this.#use((ctx) => runSubtasks.listSubtasks(ctx, p));
  readSubtaskResults: Store['readSubtaskResults'] = (p) => this.#use((ctx) => runSubtasks.readSubtaskResults(ctx, p));
  sweepSubtasks: Store['sweepSubtasks'] = (p) => this.#use((ctx) => runSubtasks.sweepSubtasks(ctx, p));
  cancelMap: Store['cancelMap'] = (p) => this.#use((ctx) => runSubtasks.cancelMap(ctx, p));
  watchChanges: Store['watchChanges'] = (listener) => this.#use(() => this.#changes.subscribe(listener));
  publishChanges: Store['publishChanges'] = (changes) => this.#use((ctx) => changeFeed.publishChanges(ctx, changes));

  // ---- executor registry
  heartbeatExecutor: Store['heartbeatExecutor'] = (p) => this.#use((ctx) => executors.heartbeatExecutor(ctx, p));
  removeExecutor: Store['removeExecutor'] = (p) => this.#use((ctx) => executors.removeExecutor(ctx, p.id));
  markSuspectedExecutors: Store['markSuspectedExecutors'] = () => this.#use((ctx) => executors.markSuspectedExecutors(ctx));
  listExecutors: Store['listExecutors'] = (p) => this.#use((ctx) => executors.listExecutors(ctx, p));
  // ---- executor group discovery (store/executor-groups.ts)
  putExecutorGroup: Store['putExecutorGroup'] = (p) => this.#use((ctx) => executorGroups.putExecutorGroup(ctx, p));
  getExecutorGroup: Store['getExecutorGroup'] = (p) => this.#use((ctx) => executorGroups.getExecutorGroup(ctx, p));
  listExecutorGroups: Store['listExecutorGroups'] = (p) => this.#use((ctx) => executorGroups.listExecutorGroups(ctx, p));
  deleteExecutorGroup: Store['deleteExecutorGroup'] = (p) => this.#use((ctx) => executorGroups.deleteExecutorGroup(ctx, p));

  // ---- tokens and audit
  createToken: Store['createToken'] = (p) => this.#use((ctx) => tokensAudit.createToken(ctx, p));
  findTokenByHash: Store['findTokenByHash'] = (secretHash) => this.#use((ctx) => tokensAudit.findTokenByHash(ctx, secretHash));
  listTokens: Store['listTokens'] = () => this.#use((ctx) => tokensAudit.listTokens(ctx));
  countTokens: Store['countTokens'] = () => this.#use((ctx) => tokensAudit.countTokens(ctx));
  revokeToken: Store['revokeToken'] = (p) => this.#use((ctx) => tokensAudit.revokeToken(ctx, p));
  touchToken: Store['touchToken'] = (p) => this.#use((ctx) => tokensAudit.touchToken(ctx, p));
  appendAudit: Store['appendAudit'] = (entry) => this.#use((ctx) => tokensAudit.appendAudit(ctx, entry));
  listAudit: Store['listAudit'] = (p) => this.#use((ctx) => tokensAudit.listAudit(ctx, p));

  // ---- namespaces
  putNamespace: Store['putNamespace'] = (p) => this.#use((ctx) => namespaces.putNamespace(ctx, p));
  getNamespace: Store['getNamespace'] = (name) => this.#use((ctx) => namespaces.getNamespace(ctx, name));
  listNamespaces: Store['listNamespaces'] = (p) => this.#use((ctx) => namespaces.listNamespaces(ctx, p));
  deleteNamespace: Store['deleteNamespace'] = (p) => this.#use((ctx) => namespaces.deleteNamespace(ctx, p));
  getNamespaceUsage: Store['getNamespaceUsage'] = (p) => this.#use((ctx) => namespaces.getNamespaceUsage(ctx, p));

  // ---- idempotency keys
  claimIdempotencyKey: Store['claimIdempotencyKey'] = (p) => this.#use((ctx) => idempotency.claimIdempotencyKey(ctx, p));
  completeIdempotencyKey: Store['completeIdempotencyKey'] = (p) => this.#use((ctx) => idempotency.completeIdempotencyKey(ctx, p));
  releaseIdempotencyKey: Store['releaseIdempotencyKey'] = (p) => this.#use((ctx) => idempotency.releaseIdempotencyKey(ctx, p));
  deleteExpiredIdempotencyKeys: Store['deleteExpiredIdempotencyKeys'] = (p) => this.#use((ctx) => idempotency.deleteExpiredIdempotencyKeys(ctx, p));

  // ---- sessions
  createSession: Store['createSession'] = (p) => this.#use((ctx) => sessions.createSession(ctx, p));
  findSessionByHash: Store['findSessionByHash'] = (secretHash) => this.#use((ctx) => sessions.findSessionByHash(ctx, secretHash));
  deleteSession: Store['deleteSession'] = (p) => this.#use((ctx) => sessions.deleteSession(ctx, p));
  deleteExpiredSessions: Store['deleteExpiredSessions'] = (p) => this.#use((ctx) => sessions.deleteExpiredSessions(ctx, p));
}

/** A SQL store. Call `open()` before any other verb; it connects and migrates. */
export function createSqlStore(options: SqlStoreOptions): Store {
  return new SqlStore(options);
}
