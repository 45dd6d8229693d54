/**
 * The embedded store: SQLite through the built-in `node:sqlite`, for one ecron process. A second
 * process opening the same file fails with STORE_LOCKED (see `connection.ts`).
 *
 * Every verb runs synchronously on the single connection, from BEGIN to COMMIT, so concurrent
 * calls from the same process are serialised by the event loop and never see each other's
 * half-done work.
 */
import { EcronError } from '../../core/errors.ts';
import type { ScheduledRecord } from '../../core/model.ts';
import { LocalChangeFeed } from '../change-feed.ts';
import type { Store } from '../store.ts';
import { classifySqliteError, openSqliteConnection, type SqliteConnection } from './connection.ts';
import * as backfills from './backfills.ts';
import * as cluster from './cluster.ts';
import * as executors from './executors.ts';
import * as executorGroups from './executor-groups.ts';
import { dbNow } from './fence.ts';
import * as fires from './fires.ts';
import { migrateToLatest } from './migrate.ts';
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

export interface SqliteStoreOptions {
  /** The database file, created if missing; `:memory:` for a private in-memory store (tests). */
  path: string;
}

class SqliteStore implements Store {
  readonly #path: string;
  #connection: SqliteConnection | null = null;
  #opening: Promise<void> | null = null;
  /** One process per file: changes are published in-process, after commit. */
  readonly #changes = new LocalChangeFeed();

  constructor(options: SqliteStoreOptions) {
    this.#path = options.path;
  }

  /** Runs a verb on the open connection, turning database failures into STORE_UNAVAILABLE. */
  #use<T>(verb: (conn: SqliteConnection) => T): Promise<T> {
    if (this.#connection === null) return Promise.reject(new EcronError('STORE_UNAVAILABLE', `the store ${this.#path} is not open`));
    try {
      return Promise.resolve(verb(this.#connection));
    } catch (error) {
      return Promise.reject(classifySqliteError(error, this.#path));
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
    const connection = openSqliteConnection(this.#path);
    try {
      await migrateToLatest(connection.db);
    } catch (error) {
      connection.close();
      throw error;
    }
    this.#connection = connection;
  }

  async close(): Promise<void> {
    await this.#opening?.catch(() => undefined);
    this.#connection?.close();
    this.#connection = null;
    this.#opening = null;
  }

  now(): Promise<number> {
    return this.#use((conn) => dbNow(conn));
  }

  // ---- tasks
  createTask: Store['createTask'] = (p) => this.#use((conn) => this.#changed(tasks.createTask(conn, p)));
  getTask: Store['getTask'] = (id) => this.#use((conn) => tasks.getOfKind(conn, id, 'task'));
  getTaskByName: Store['getTaskByName'] = (namespace, name) => this.#use((conn) => tasks.getByName(conn, namespace, name, 'task'));
  listTasks: Store['listTasks'] = (p) => this.#use((conn) => tasks.listTasks(conn, 'task', p));
  getWorkflow: Store['getWorkflow'] = (id) => this.#use((conn) => tasks.getOfKind(conn, id, 'workflow'));
  getWorkflowByName: Store['getWorkflowByName'] = (namespace, name) => this.#use((conn) => tasks.getByName(conn, namespace, name, 'workflow'));
  listWorkflows: Store['listWorkflows'] = (p) => this.#use((conn) => tasks.listTasks(conn, 'workflow', p));
  getScheduled: Store['getScheduled'] = (id) => this.#use((conn) => tasks.getScheduled(conn, id));
  updateTask: Store['updateTask'] = (p) => this.#use((conn) => this.#changed(tasks.updateTask(conn, 'task', p)));
  updateWorkflow: Store['updateWorkflow'] = (p) => this.#use((conn) => this.#changed(tasks.updateTask(conn, 'workflow', p)));
  setTaskState: Store['setTaskState'] = (p) => this.#use((conn) => this.#changed(tasks.setTaskState(conn, 'task', p)));
  setWorkflowState: Store['setWorkflowState'] = (p) => this.#use((conn) => this.#changed(tasks.setTaskState(conn, 'workflow', p)));
  deleteTask: Store['deleteTask'] = (p) => this.#use((conn) => {
    tasks.deleteTask(conn, 'task', p);
    this.#changes.publish([{ kind: 'task', id: p.id }]);
  });
  deleteWorkflow: Store['deleteWorkflow'] = (p) => this.#use((conn) => {
    tasks.deleteTask(conn, 'workflow', p);
    this.#changes.publish([{ kind: 'task', id: p.id }]);
  });
  listTaskRevisions: Store['listTaskRevisions'] = (taskId) => this.#use((conn) => tasks.listTaskRevisions(conn, taskId));
  getTaskRevision: Store['getTaskRevision'] = (p) => this.#use((conn) => tasks.getTaskRevision(conn, p));
  getScheduledByNames: Store['getScheduledByNames'] = (p) => this.#use((conn) => taskBatch.getScheduledByNames(conn, p));
  upsertTasks: Store['upsertTasks'] = (p) => this.#use((conn) => {
    const result = taskBatch.upsertTasks(conn, p);
    this.#changes.publish(result.tasks.map((task) => ({ kind: 'task' as const, id: task.id })));
    return result;
  });
  getTasks: Store['getTasks'] = (p) => this.#use((conn) => taskBulk.getTasks(conn, p));
  setTaskStates: Store['setTaskStates'] = (p) => this.#use((conn) => {
    const tasks = taskBulk.setTaskStates(conn, p);
    this.#publishTasks(tasks.flatMap((task) => (task ? [task.id] : [])));
    return tasks;
  });
  deleteTasks: Store['deleteTasks'] = (p) => this.#use((conn) => {
    const deleted = taskBulk.deleteTasks(conn, p);
    this.#publishTasks(p.items.flatMap((item, i) => (deleted[i] ? [item.id] : [])));
    return deleted;
  });

  // ---- scheduling
  listDueTasks: Store['listDueTasks'] = (p) => this.#use((conn) => fires.listDueTasks(conn, p));
  recordFires: Store['recordFires'] = (list, fence) => this.#use((conn) => fires.recordFires(conn, list, fence));
  createRun: Store['createRun'] = (p) => this.#use((conn) => fires.createRun(conn, p));

  // ---- runs
  getRun: Store['getRun'] = (id) => this.#use((conn) => runs.getRun(conn, id));
  listRuns: Store['listRuns'] = (p) => this.#use((conn) => runs.listRuns(conn, p));
  listAttempts: Store['listAttempts'] = (runIds) => this.#use((conn) => runs.listAttempts(conn, runIds));
  listActiveRuns: Store['listActiveRuns'] = (p) => this.#use((conn) => runs.listActiveRuns(conn, p));
  startAttempts: Store['startAttempts'] = (items) => this.#use((conn) => runs.startAttempts(conn, items));
  markRunning: Store['markRunning'] = (p) => this.#use((conn) => runs.markRunning(conn, p));
  markSent: Store['markSent'] = (items) => this.#use((conn) => runs.markSent(conn, items));
  finishAttempts: Store['finishAttempts'] = (items) => this.#use((conn) => runs.finishAttempts(conn, items));
  finishRun: Store['finishRun'] = (p) => this.#use((conn) => runs.finishRun(conn, p));
  deleteHistory: Store['deleteHistory'] = (p) => this.#use((conn) => runs.deleteHistory(conn, p));
  acceptReport: Store['acceptReport'] = (p) => this.#use((conn) => runs.acceptReport(conn, p));
  listWorkflowNodes: Store['listWorkflowNodes'] = (runId) => this.#use((conn) => workflows.listWorkflowNodes(conn, runId));
  actOnWorkflowRun: Store['actOnWorkflowRun'] = (p) => this.#use((conn) => workflows.actOnWorkflowRun(conn, p));
  appendRunLogs: Store['appendRunLogs'] = (lines) => this.#use((conn) => runLogs.appendRunLogs(conn, lines));
  listRunLogs: Store['listRunLogs'] = (p) => this.#use((conn) => runLogs.listRunLogs(conn, p));

  // ---- backfills
  createBackfill: Store['createBackfill'] = (p) => this.#use((conn) => backfills.createBackfill(conn, p));
  getBackfill: Store['getBackfill'] = (id) => this.#use((conn) => backfills.getBackfill(conn, id));
  listBackfills: Store['listBackfills'] = (p) => this.#use((conn) => backfills.listBackfills(conn, p));
  updateBackfill: Store['updateBackfill'] = (p) => this.#use((conn) => backfills.updateBackfill(conn, p));
  adoptBackfills: Store['adoptBackfills'] = (p) => this.#use((conn) => backfills.adoptBackfills(conn, p));
  countBackfillRuns: Store['countBackfillRuns'] = (id) => this.#use((conn) => backfills.countBackfillRuns(conn, id));

  // ---- cluster
  heartbeatNode: Store['heartbeatNode'] = (p) => this.#use((conn) => cluster.heartbeatNode(conn, p));
  removeNode: Store['removeNode'] = (p) => this.#use((conn) => cluster.removeNode(conn, p.nodeId));
  listNodes: Store['listNodes'] = () => this.#use((conn) => cluster.listNodes(conn));
  listBucketLeases: Store['listBucketLeases'] = () => this.#use((conn) => cluster.listBucketLeases(conn));
  acquireBuckets: Store['acquireBuckets'] = (p) => this.#use((conn) => cluster.acquireBuckets(conn, p));
  renewBuckets: Store['renewBuckets'] = (p) => this.#use((conn) => cluster.renewBuckets(conn, p));
  releaseBuckets: Store['releaseBuckets'] = (p) => this.#use((conn) => cluster.releaseBuckets(conn, p));
  adoptRuns: Store['adoptRuns'] = (p) => this.#use((conn) => cluster.adoptRuns(conn, p));
  ensureSecret: Store['ensureSecret'] = (p) => this.#use((conn) => cluster.ensureSecret(conn, p));
  // ---- event log
  readEvents: Store['readEvents'] = (p) => this.#use((conn) => events.readEvents(conn, p));
  sequenceEvents: Store['sequenceEvents'] = () => Promise.resolve(0);
  lastEventSeq: Store['lastEventSeq'] = () => this.#use((conn) => events.lastEventSeq(conn));
  oldestEventSeq: Store['oldestEventSeq'] = () => this.#use((conn) => events.oldestEventSeq(conn));
  deleteEvents: Store['deleteEvents'] = (p) => this.#use((conn) => events.deleteEvents(conn, p));

  // ---- event subscriptions
  createSubscription: Store['createSubscription'] = (p) => this.#use((conn) => subscriptions.createSubscription(conn, p));
  getSubscription: Store['getSubscription'] = (id) => this.#use((conn) => subscriptions.getSubscription(conn, id));
  listSubscriptions: Store['listSubscriptions'] = (p) => this.#use((conn) => subscriptions.listSubscriptions(conn, p));
  setSubscriptionState: Store['setSubscriptionState'] = (p) => this.#use((conn) => subscriptions.setSubscriptionState(conn, p));
  deleteSubscription: Store['deleteSubscription'] = (p) => this.#use((conn) => subscriptions.deleteSubscription(conn, p));
  claimSubscriptions: Store['claimSubscriptions'] = (p) => this.#use((conn) => subscriptions.claimSubscriptions(conn, p));
  releaseSubscriptions: Store['releaseSubscriptions'] = (p) => this.#use((conn) => subscriptions.releaseSubscriptions(conn, p));
  advanceSubscription: Store['advanceSubscription'] = (p) => this.#use((conn) => subscriptions.advanceSubscription(conn, p));
  listDeadLetters: Store['listDeadLetters'] = (p) => this.#use((conn) => subscriptions.listDeadLetters(conn, p));
  deleteDeadLetters: Store['deleteDeadLetters'] = (p) => this.#use((conn) => subscriptions.deleteDeadLetters(conn, p));
  // ---- alert channels and rules (store/alerts-config.ts)
  createAlertChannel: Store['createAlertChannel'] = (p) => this.#use((conn) => alertConfig.createAlertChannel(conn, p));
  getAlertChannel: Store['getAlertChannel'] = (id) => this.#use((conn) => alertConfig.getAlertChannel(conn, id));
  getAlertChannelsByName: Store['getAlertChannelsByName'] = (p) => this.#use((conn) => alertConfig.getAlertChannelsByName(conn, p));
  listAlertChannels: Store['listAlertChannels'] = (p) => this.#use((conn) => alertConfig.listAlertChannels(conn, p));
  updateAlertChannel: Store['updateAlertChannel'] = (p) => this.#use((conn) => alertConfig.updateAlertChannel(conn, p));
  deleteAlertChannel: Store['deleteAlertChannel'] = (p) => this.#use((conn) => alertConfig.deleteAlertChannel(conn, p));
  recordAlertChannelResult: Store['recordAlertChannelResult'] = (p) => this.#use((conn) => alertConfig.recordAlertChannelResult(conn, p));
  createAlertRule: Store['createAlertRule'] = (p) => this.#use((conn) => alertConfig.createAlertRule(conn, p));
  getAlertRule: Store['getAlertRule'] = (id) => this.#use((conn) => alertConfig.getAlertRule(conn, id));
  listAlertRules: Store['listAlertRules'] = (p) => this.#use((conn) => alertConfig.listAlertRules(conn, p));
  listEnabledAlertRules: Store['listEnabledAlertRules'] = () => this.#use((conn) => alertConfig.listEnabledAlertRules(conn));
  updateAlertRule: Store['updateAlertRule'] = (p) => this.#use((conn) => alertConfig.updateAlertRule(conn, p));
  setAlertRuleEnabled: Store['setAlertRuleEnabled'] = (p) => this.#use((conn) => alertConfig.setAlertRuleEnabled(conn, p));
  deleteAlertRule: Store['deleteAlertRule'] = (p) => this.#use((conn) => alertConfig.deleteAlertRule(conn, p));
  // ---- alert incidents and notifications (store/alert-incidents.ts)
  claimAlertEvaluator: Store['claimAlertEvaluator'] = (p) => this.#use((conn) => alertIncidents.claimAlertEvaluator(conn, p));
  releaseAlertEvaluator: Store['releaseAlertEvaluator'] = (p) => this.#use((conn) => alertIncidents.releaseAlertEvaluator(conn, p));
  applyAlertChanges: Store['applyAlertChanges'] = (p) => this.#use((conn) => alertIncidents.applyAlertChanges(conn, p));
  repeatAlertIncidents: Store['repeatAlertIncidents'] = (p) => this.#use((conn) => alertIncidents.repeatAlertIncidents(conn, p));
  getIncident: Store['getIncident'] = (id) => this.#use((conn) => alertIncidents.getIncident(conn, id));
  listIncidents: Store['listIncidents'] = (p) => this.#use((conn) => alertIncidents.listIncidents(conn, p));
  listUnresolvedIncidents: Store['listUnresolvedIncidents'] = () => this.#use((conn) => alertIncidents.listUnresolvedIncidents(conn));
  acknowledgeIncident: Store['acknowledgeIncident'] = (p) => this.#use((conn) => alertIncidents.acknowledgeIncident(conn, p));
  resolveIncident: Store['resolveIncident'] = (p) => this.#use((conn) => alertIncidents.resolveIncident(conn, p));
  listIncidentNotifications: Store['listIncidentNotifications'] = (p) => this.#use((conn) => alertIncidents.listIncidentNotifications(conn, p));
  claimAlertNotifications: Store['claimAlertNotifications'] = (p) => this.#use((conn) => alertIncidents.claimAlertNotifications(conn, p));
  finishAlertNotification: Store['finishAlertNotification'] = (p) => this.#use((conn) => alertIncidents.finishAlertNotification(conn, p));
  // ---- alert silences (store/alert-silences.ts)
  createAlertSilence: Store['createAlertSilence'] = (p) => this.#use((conn) => alertSilences.createAlertSilence(conn, p));
  getAlertSilence: Store['getAlertSilence'] = (id) => this.#use((conn) => alertSilences.getAlertSilence(conn, id));
  listAlertSilences: Store['listAlertSilences'] = (p) => this.#use((conn) => alertSilences.listAlertSilences(conn, p));
  updateAlertSilence: Store['updateAlertSilence'] = (p) => this.#use((conn) => alertSilences.updateAlertSilence(conn, p));
  deleteAlertSilence: Store['deleteAlertSilence'] = (p) => this.#use((conn) => alertSilences.deleteAlertSilence(conn, p));
  listActiveAlertSilences: Store['listActiveAlertSilences'] = (p) => this.#use((conn) => alertSilences.listActiveAlertSilences(conn, p));
  // ---- map/reduce (store/run-subtasks.ts)
  appendSubtasks: Store['appendSubtasks'] = (p) => this.#use((conn) => runSubtasks.appendSubtasks(conn, p));
  sealMap: Store['sealMap'] = (p) => this.#use((conn) => runSubtasks.sealMap(conn, p));
  getRunMap: Store['getRunMap'] = (runId) => this.#use((conn) => runSubtasks.getRunMap(conn, runId));
  claimSubtasks: Store['claimSubtasks'] = (p) => this.#use((conn) => runSubtasks.claimSubtasks(conn, p));
  reportSubtasks: Store['reportSubtasks'] = (p) => this.#use((conn) => runSubtasks.reportSubtasks(conn, p));
  extendSubtaskLeases: Store['extendSubtaskLeases'] = (p) => this.#use((conn) => runSubtasks.extendSubtaskLeases(conn, p));
  expireSubtaskLeasesOf: Store['expireSubtaskLeasesOf'] = (p) => this.#use((conn) => runSubtasks.expireSubtaskLeasesOf(conn, p));
  listSubtasks: Store['listSubtasks'] = (p) => this.#use((conn) => runSubtasks.listSubtasks(conn, p));
  readSubtaskResults: Store['readSubtaskResults'] = (p) => this.#use((conn) => runSubtasks.readSubtaskResults(conn, p));
  sweepSubtasks: Store['sweepSubtasks'] = (p) => this.#use((conn) => runSubtasks.sweepSubtasks(conn, p));
  cancelMap: Store['cancelMap'] = (p) => this.#use((conn) => runSubtasks.cancelMap(conn, p));
  watchChanges: Store['watchChanges'] = (listener) => Promise.resolve(this.#changes.subscribe(listener));
  publishChanges: Store['publishChanges'] = (changes) => {
    this.#changes.publish(changes);
    return Promise.resolve();
  };

  /** Publishes the changes of a bulk task verb once it has committed: one per task. */
  #publishTasks(ids: string[]): void {
    this.#changes.publish([...new Set(ids)].map((id) => ({ kind: 'task' as const, id })));
  }

  /** Publishes a task verb's change once it has committed. */
  #changed<R extends ScheduledRecord>(task: R): R {
    this.#changes.publish([{ kind: 'task', id: task.id }]);
    return task;
  }

  // ---- executor registry
  heartbeatExecutor: Store['heartbeatExecutor'] = (p) => this.#use((conn) => executors.heartbeatExecutor(conn, p));
  removeExecutor: Store['removeExecutor'] = (p) => this.#use((conn) => executors.removeExecutor(conn, p.id));
  markSuspectedExecutors: Store['markSuspectedExecutors'] = () => this.#use((conn) => executors.markSuspectedExecutors(conn));
  listExecutors: Store['listExecutors'] = (p) => this.#use((conn) => executors.listExecutors(conn, p));
  // ---- executor group discovery (store/executor-groups.ts)
  putExecutorGroup: Store['putExecutorGroup'] = (p) => this.#use((conn) => executorGroups.putExecutorGroup(conn, p));
  getExecutorGroup: Store['getExecutorGroup'] = (p) => this.#use((conn) => executorGroups.getExecutorGroup(conn, p));
  listExecutorGroups: Store['listExecutorGroups'] = (p) => this.#use((conn) => executorGroups.listExecutorGroups(conn, p));
  deleteExecutorGroup: Store['deleteExecutorGroup'] = (p) => this.#use((conn) => executorGroups.deleteExecutorGroup(conn, p));

  // ---- tokens and audit
  createToken: Store['createToken'] = (p) => this.#use((conn) => tokensAudit.createToken(conn, p));
  findTokenByHash: Store['findTokenByHash'] = (secretHash) => this.#use((conn) => tokensAudit.findTokenByHash(conn, secretHash));
  listTokens: Store['listTokens'] = () => this.#use((conn) => tokensAudit.listTokens(conn));
  countTokens: Store['countTokens'] = () => this.#use((conn) => tokensAudit.countTokens(conn));
  revokeToken: Store['revokeToken'] = (p) => this.#use((conn) => tokensAudit.revokeToken(conn, p));
  touchToken: Store['touchToken'] = (p) => this.#use((conn) => tokensAudit.touchToken(conn, p));
  appendAudit: Store['appendAudit'] = (entry) => this.#use((conn) => tokensAudit.appendAudit(conn, entry));
  listAudit: Store['listAudit'] = (p) => this.#use((conn) => tokensAudit.listAudit(conn, p));

  // ---- namespaces
  putNamespace: Store['putNamespace'] = (p) => this.#use((conn) => namespaces.putNamespace(conn, p));
  getNamespace: Store['getNamespace'] = (name) => this.#use((conn) => namespaces.getNamespace(conn, name));
  listNamespaces: Store['listNamespaces'] = (p) => this.#use((conn) => namespaces.listNamespaces(conn, p));
  deleteNamespace: Store['deleteNamespace'] = (p) => this.#use((conn) => namespaces.deleteNamespace(conn, p));
  getNamespaceUsage: Store['getNamespaceUsage'] = (p) => this.#use((conn) => namespaces.getNamespaceUsage(conn, p));

  // ---- idempotency keys
  claimIdempotencyKey: Store['claimIdempotencyKey'] = (p) => this.#use((conn) => idempotency.claimIdempotencyKey(conn, p));
  completeIdempotencyKey: Store['completeIdempotencyKey'] = (p) => this.#use((conn) => idempotency.completeIdempotencyKey(conn, p));
  releaseIdempotencyKey: Store['releaseIdempotencyKey'] = (p) => this.#use((conn) => idempotency.releaseIdempotencyKey(conn, p));
  deleteExpiredIdempotencyKeys: Store['deleteExpiredIdempotencyKeys'] = (p) => this.#use((conn) => idempotency.deleteExpiredIdempotencyKeys(conn, p));

  // ---- sessions
  createSession: Store['createSession'] = (p) => this.#use((conn) => sessions.createSession(conn, p));
  findSessionByHash: Store['findSessionByHash'] = (secretHash) => this.#use((conn) => sessions.findSessionByHash(conn, secretHash));
  deleteSession: Store['deleteSession'] = (p) => this.#use((conn) => sessions.deleteSession(conn, p));
  deleteExpiredSessions: Store['deleteExpiredSessions'] = (p) => this.#use((conn) => sessions.deleteExpiredSessions(conn, p));
}

/** A SQLite store. Call `open()` before any other verb; it migrates and takes the process lock. */
export function createSqliteStore(options: SqliteStoreOptions): Store {
  return new SqliteStore(options);
}
