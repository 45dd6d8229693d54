/**
 * The event log's writers (issue 18, DESIGN "Event"): row triggers on the tables whose changes are
 * events. A trigger runs inside the transaction of the statement that changed the row, so an
 * event is committed with its change or not at all, whatever verb, node or store wrote it, and no
 * code path can forget one. Each rule below becomes one `INSERT INTO events … SELECT … WHERE`
 * statement in the table's trigger for that operation, rendered for each store's SQL.
 *
 * The rules are frozen with the migration that creates them (`0016_events`): a change to them
 * is a new migration that drops the triggers and creates them again from a new version.
 *
 * The `seq` that orders the log is not given here: SQLite, whose writers are serialised, numbers
 * rows as they are inserted; the SQL stores number them after commit (`store/sql/events.ts`).
 */

export type EventDialect = 'postgres' | 'mysql' | 'sqlite';

type Op = 'INSERT' | 'UPDATE' | 'DELETE';

interface Sql {
  readonly dialect: EventDialect;
  /** A quoted column of NEW or OLD. */
  col(row: 'NEW' | 'OLD', column: string): string;
  /** Null-safe "differs". */
  distinct(a: string, b: string): string;
  concat(...parts: string[]): string;
  json(fields: Record<string, string>): string;
  nowMs: string;
  /**
   * A value read from another table. MySQL reads it into a variable before the INSERT: a read
   * inside `INSERT … SELECT` would take a shared lock on the row, and two writers of it deadlock.
   */
  lookup(name: string, query: string): string;
  /** The lookups the rendered statements use (MySQL), by variable. */
  readonly lookups: Map<string, string>;
}

interface EventRule {
  table: string;
  op: Op;
  /** Only rows where this holds (an SQL condition over NEW / OLD). */
  when?: (s: Sql) => string;
  /**
   * UPDATE rules: the columns whose change the rule can see. PostgreSQL and SQLite then run the
   * trigger only for statements that set one of them (`AFTER UPDATE OF …`): the hot updates of a
   * fire (a task's next fire time, a run's sent mark) never enter it. MySQL has no `OF`; its
   * trigger tests `when`.
   */
  of?: readonly string[];
  type: (s: Sql) => string;
  namespace: (s: Sql) => string;
  taskId?: (s: Sql) => string;
  runId?: (s: Sql) => string;
  workflowRunId?: (s: Sql) => string;
  data: (s: Sql) => Record<string, string>;
}

const ERROR_CHARS = 1000;

/** `workflow` for a workflow's own run (its workflowRunId is its id), else `run`. */
const runPrefix = (s: Sql): string =>
  `CASE WHEN ${s.col('NEW', 'workflow_run_id')} = ${s.col('NEW', 'id')} THEN 'workflow' ELSE 'run' END`;

/** The event name of a run status: `running` is `started`, `no_executor` is `waiting`. */
const statusName = (s: Sql): string =>
  `CASE ${s.col('NEW', 'status')} WHEN 'running' THEN 'started' WHEN 'no_executor' THEN 'waiting' ELSE ${s.col('NEW', 'status')} END`;

const runKeys = (s: Sql) => ({
  namespace: s.col('NEW', 'namespace'), taskId: s.col('NEW', 'task_id'), runId: s.col('NEW', 'id'), workflowRunId: s.col('NEW', 'workflow_run_id'),
});

const runData = (s: Sql): Record<string, string> => ({
  status: s.col('NEW', 'status'),
  attempt: s.col('NEW', 'attempt'),
  trigger: s.col('NEW', 'trigger'),
  scheduledAt: s.col('NEW', 'scheduled_at'),
  taskName: s.col('NEW', 'task_name'),
  workflowRunId: s.col('NEW', 'workflow_run_id'),
  nodeId: s.col('NEW', 'node_id'),
  backfillId: s.col('NEW', 'backfill_id'),
});

const taskPrefix = (s: Sql, row: 'NEW' | 'OLD'): string => `CASE WHEN ${s.col(row, 'kind')} = 'workflow' THEN 'workflow' ELSE 'task' END`;

const taskData = (s: Sql, row: 'NEW' | 'OLD'): Record<string, string> => ({
  name: s.col(row, 'name'), revision: s.col(row, 'revision'), state: s.col(row, 'state'),
});

/** The workflow run a workflow node belongs to, read for its namespace and workflow. */
const workflowRunColumn = (s: Sql, column: string): string =>
  s.lookup(`workflow_run_${column}`, `SELECT r.${column} FROM runs r WHERE r.id = ${s.col('NEW', 'workflow_run_id')}`);

const executorData = (s: Sql, row: 'NEW' | 'OLD'): Record<string, string> => ({
  executorId: s.col(row, 'id'), group: s.col(row, 'group'), mode: s.col(row, 'mode'), transport: s.col(row, 'transport'), version: s.col(row, 'version'),
});

const nodeData = (s: Sql, row: 'NEW' | 'OLD'): Record<string, string> => ({
  schedulerNodeId: s.col(row, 'id'), address: s.col(row, 'address'), version: s.col(row, 'version'),
});

const NULL = (): string => 'NULL';

export const EVENT_RULES_V1: readonly EventRule[] = [
  // Runs: fired when inserted (and its first status when that is not `pending`), then each change
  // of status or attempt, and progress.
  { table: 'runs', op: 'INSERT', type: (s) => s.concat(runPrefix(s), `'.fired'`), ...keysOf(runKeys), data: runData },
  {
    table: 'runs', op: 'INSERT', when: (s) => `${s.col('NEW', 'status')} <> 'pending'`,
    type: (s) => s.concat(runPrefix(s), `'.'`, statusName(s)), ...keysOf(runKeys), data: runData,
  },
  {
    table: 'runs', op: 'UPDATE', of: ['status', 'attempt'],
    when: (s) => `(${s.distinct(s.col('NEW', 'status'), s.col('OLD', 'status'))} OR ${s.distinct(s.col('NEW', 'attempt'), s.col('OLD', 'attempt'))})`,
    type: (s) => s.concat(runPrefix(s), `'.'`, statusName(s)), ...keysOf(runKeys),
    data: (s) => ({
      ...runData(s), previousStatus: s.col('OLD', 'status'), error: `substr(${s.col('NEW', 'error')}, 1, ${ERROR_CHARS})`,
      startedAt: s.col('NEW', 'started_at'), finishedAt: s.col('NEW', 'finished_at'), progress: s.col('NEW', 'progress'),
    }),
  },
  {
    table: 'runs', op: 'UPDATE', of: ['status', 'attempt', 'progress'],
    when: (s) => `(${s.col('NEW', 'status')} = ${s.col('OLD', 'status')} AND ${s.col('NEW', 'attempt')} = ${s.col('OLD', 'attempt')} AND ${s.distinct(s.col('NEW', 'progress'), s.col('OLD', 'progress'))})`,
    type: (s) => s.concat(runPrefix(s), `'.progress'`), ...keysOf(runKeys),
    data: (s) => ({ status: s.col('NEW', 'status'), attempt: s.col('NEW', 'attempt'), progress: s.col('NEW', 'progress') }),
  },
  // Tasks and workflows: created, updated (a new revision), paused / resumed / completed, deleted.
  {
    table: 'tasks', op: 'INSERT', type: (s) => s.concat(taskPrefix(s, 'NEW'), `'.created'`),
    namespace: (s) => s.col('NEW', 'namespace'), taskId: (s) => s.col('NEW', 'id'), data: (s) => taskData(s, 'NEW'),
  },
  {
    table: 'tasks', op: 'UPDATE', of: ['revision'], when: (s) => s.distinct(s.col('NEW', 'revision'), s.col('OLD', 'revision')),
    type: (s) => s.concat(taskPrefix(s, 'NEW'), `'.updated'`),
    namespace: (s) => s.col('NEW', 'namespace'), taskId: (s) => s.col('NEW', 'id'), data: (s) => taskData(s, 'NEW'),
  },
  {
    table: 'tasks', op: 'UPDATE', of: ['state'], when: (s) => s.distinct(s.col('NEW', 'state'), s.col('OLD', 'state')),
    type: (s) => s.concat(taskPrefix(s, 'NEW'),
      `CASE ${s.col('NEW', 'state')} WHEN 'paused' THEN '.paused' WHEN 'active' THEN '.resumed' ELSE '.completed' END`),
    namespace: (s) => s.col('NEW', 'namespace'), taskId: (s) => s.col('NEW', 'id'), data: (s) => taskData(s, 'NEW'),
  },
  {
    table: 'tasks', op: 'DELETE', type: (s) => s.concat(taskPrefix(s, 'OLD'), `'.deleted'`),
    namespace: (s) => s.col('OLD', 'namespace'), taskId: (s) => s.col('OLD', 'id'), data: (s) => taskData(s, 'OLD'),
  },
  // The nodes of workflow runs: as each changes status, and as a run starts, those it starts at once.
  {
    table: 'workflow_nodes', op: 'INSERT', when: (s) => `${s.col('NEW', 'status')} <> 'waiting'`,
    type: (s) => s.concat(`'workflow.node.'`, s.col('NEW', 'status')),
    namespace: (s) => workflowRunColumn(s, 'namespace'), taskId: (s) => workflowRunColumn(s, 'task_id'),
    runId: (s) => s.col('NEW', 'run_id'), workflowRunId: (s) => s.col('NEW', 'workflow_run_id'),
    data: (s) => ({ nodeId: s.col('NEW', 'node_id'), status: s.col('NEW', 'status'), reason: s.col('NEW', 'reason'), attempts: s.col('NEW', 'attempts') }),
  },
  {
    table: 'workflow_nodes', op: 'UPDATE', of: ['status'], when: (s) => s.distinct(s.col('NEW', 'status'), s.col('OLD', 'status')),
    type: (s) => s.concat(`'workflow.node.'`, s.col('NEW', 'status')),
    namespace: (s) => workflowRunColumn(s, 'namespace'), taskId: (s) => workflowRunColumn(s, 'task_id'),
    runId: (s) => s.col('NEW', 'run_id'), workflowRunId: (s) => s.col('NEW', 'workflow_run_id'),
    data: (s) => ({
      nodeId: s.col('NEW', 'node_id'), status: s.col('NEW', 'status'), previousStatus: s.col('OLD', 'status'),
      reason: s.col('NEW', 'reason'), attempts: s.col('NEW', 'attempts'),
    }),
  },
  // Executor nodes joining and leaving (registration, expiry sweep, deregistration).
  {
    table: 'executor_nodes', op: 'INSERT', type: () => `'executor.joined'`,
    namespace: (s) => s.col('NEW', 'namespace'), data: (s) => executorData(s, 'NEW'),
  },
  {
    table: 'executor_nodes', op: 'DELETE', type: () => `'executor.left'`,
    namespace: (s) => s.col('OLD', 'namespace'), data: (s) => executorData(s, 'OLD'),
  },
  // A node whose heartbeats stopped: marked once, cluster-wide, by the first node that sees its
  // lease expired (`markSuspectedExecutors`); its next heartbeat clears the mark.
  {
    table: 'executor_nodes', op: 'UPDATE', of: ['suspected_at'],
    when: (s) => `(${s.col('OLD', 'suspected_at')} IS NULL AND ${s.col('NEW', 'suspected_at')} IS NOT NULL)`,
    type: () => `'executor.suspected'`, namespace: (s) => s.col('NEW', 'namespace'),
    data: (s) => ({ ...executorData(s, 'NEW'), lastHeartbeatAt: s.col('NEW', 'heartbeat_at') }),
  },
  {
    table: 'executor_nodes', op: 'UPDATE', of: ['suspected_at'],
    when: (s) => `(${s.col('OLD', 'suspected_at')} IS NOT NULL AND ${s.col('NEW', 'suspected_at')} IS NULL)`,
    type: () => `'executor.recovered'`, namespace: (s) => s.col('NEW', 'namespace'), data: (s) => executorData(s, 'NEW'),
  },
  // Scheduler nodes and bucket leases: cluster events, in no namespace.
  { table: 'cluster_nodes', op: 'INSERT', type: () => `'node.joined'`, namespace: NULL, data: (s) => nodeData(s, 'NEW') },
  { table: 'cluster_nodes', op: 'DELETE', type: () => `'node.left'`, namespace: NULL, data: (s) => nodeData(s, 'OLD') },
  // A lease moves when a node takes a bucket: a new holder, or a new term after it expired. The
  // SQL stores first insert a bucket's row with no owner ('') and then take it.
  {
    table: 'bucket_leases', op: 'INSERT', when: (s) => `${s.col('NEW', 'owner')} <> ''`, type: () => `'lease.moved'`, namespace: NULL,
    data: (s) => ({ bucket: s.col('NEW', 'bucket'), from: 'NULL', to: s.col('NEW', 'owner'), epoch: s.col('NEW', 'epoch') }),
  },
  {
    table: 'bucket_leases', op: 'UPDATE', of: ['owner', 'epoch'],
    when: (s) => `(${s.col('NEW', 'owner')} <> '' AND (${s.distinct(s.col('NEW', 'owner'), s.col('OLD', 'owner'))} OR ${s.distinct(s.col('NEW', 'epoch'), s.col('OLD', 'epoch'))}))`,
    type: () => `'lease.moved'`, namespace: NULL,
    data: (s) => ({ bucket: s.col('NEW', 'bucket'), from: `NULLIF(${s.col('OLD', 'owner')}, '')`, to: s.col('NEW', 'owner'), epoch: s.col('NEW', 'epoch') }),
  },
];

function keysOf(keys: (s: Sql) => Record<'namespace' | 'taskId' | 'runId' | 'workflowRunId', string>) {
  return {
    namespace: (s: Sql) => keys(s).namespace, taskId: (s: Sql) => keys(s).taskId,
    runId: (s: Sql) => keys(s).runId, workflowRunId: (s: Sql) => keys(s).workflowRunId,
  };
}

function sqlFor(dialect: EventDialect): Sql {
  const quote = dialect === 'mysql' ? (name: string) => `\`${name}\`` : (name: string) => `"${name}"`;
  const pairs = (fields: Record<string, string>) => Object.entries(fields).map(([key, value]) => `'${key}', ${value}`).join(', ');
  const lookups = new Map<string, string>();
  return {
    dialect,
    lookups,
    lookup: (name, query) => {
      if (dialect !== 'mysql') return `(${query})`;
      lookups.set(`@ecron_event_${name}`, query);
      return `@ecron_event_${name}`;
    },
    col: (row, column) => `${row}.${quote(column)}`,
    distinct: (a, b) => dialect === 'postgres' ? `${a} IS DISTINCT FROM ${b}` : dialect === 'mysql' ? `NOT (${a} <=> ${b})` : `${a} IS NOT ${b}`,
    concat: (...parts) => dialect === 'mysql' ? `CONCAT(${parts.join(', ')})` : parts.map((p) => `(${p})`).join(' || '),
    json: (fields) => dialect === 'postgres' ? `json_build_object(${pairs(fields)})` : dialect === 'mysql' ? `JSON_OBJECT(${pairs(fields)})` : `json_object(${pairs(fields)})`,
    nowMs: dialect === 'postgres'
      ? `(extract(epoch from clock_timestamp()) * 1000)::bigint`
      : dialect === 'mysql' ? `CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)` : `CAST(unixepoch('subsec') * 1000 AS INTEGER)`,
  };
}

function insertStatement(s: Sql, rule: EventRule): string {
  const values = [
    s.nowMs, rule.type(s), rule.namespace(s), rule.taskId?.(s) ?? 'NULL', rule.runId?.(s) ?? 'NULL', rule.workflowRunId?.(s) ?? 'NULL',
    s.json(rule.data(s)),
  ];
  const from = s.dialect === 'mysql' ? ' FROM DUAL' : '';
  const where = rule.when ? ` WHERE ${rule.when(s)}` : '';
  return `INSERT INTO events (at, type, namespace, task_id, run_id, workflow_run_id, data) SELECT ${values.join(', ')}${from}${where}`;
}

/** The statements that create the triggers of `rules` (each a whole statement, without a `;`). */
export function eventTriggerStatements(dialect: EventDialect, rules: readonly EventRule[] = EVENT_RULES_V1): string[] {
  const groups = new Map<string, EventRule[]>();
  for (const rule of rules) {
    const key = `${rule.table} ${rule.op}`;
    groups.set(key, [...(groups.get(key) ?? []), rule]);
  }
  const statements: string[] = [];
  for (const [key, group] of groups) {
    const [table, op] = key.split(' ') as [string, Op];
    const s = sqlFor(dialect);
    const name = `${table}_events_${op.toLowerCase()}`;
    const body = group.map((rule) => insertStatement(s, rule));
    // A trigger-level condition spares the call when no rule applies (the hot UPDATEs of a run).
    const when = group.every((rule) => rule.when) ? group.map((rule) => `(${rule.when!(s)})`).join(' OR ') : null;
    const columns = group.every((rule) => rule.of) ? [...new Set(group.flatMap((rule) => rule.of!))] : null;
    const event = columns && dialect !== 'mysql' ? `${op} OF ${columns.map((c) => `"${c}"`).join(', ')}` : op;
    if (dialect === 'postgres') {
      statements.push(`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  ${body.join(';\n  ')};
  RETURN NULL;
END
$fn$`);
      statements.push(`CREATE TRIGGER ${name} AFTER ${event} ON ${table} FOR EACH ROW${when ? ` WHEN (${when})` : ''} EXECUTE FUNCTION ${name}()`);
    } else if (dialect === 'mysql') {
      const reads = [...s.lookups].map(([variable, query]) => `SET ${variable} = (${query})`);
      statements.push(`CREATE TRIGGER ${name} AFTER ${op} ON ${table} FOR EACH ROW
BEGIN
  ${when ? `IF ${when} THEN\n  ` : ''}${[...reads, ...body].join(';\n  ')};${when ? '\n  END IF;' : ''}
END`);
    } else {
      statements.push(`CREATE TRIGGER ${name} AFTER ${event} ON ${table} FOR EACH ROW${when ? ` WHEN ${when}` : ''}
BEGIN
  ${body.join(';\n  ')};
END`);
    }
  }
  return statements;
}

/** The statements that drop what {@link eventTriggerStatements} created. */
export function dropEventTriggerStatements(dialect: EventDialect, rules: readonly EventRule[] = EVENT_RULES_V1): string[] {
  const names = [...new Set(rules.map((rule) => `${rule.table}_events_${rule.op.toLowerCase()}|${rule.table}`))];
  return names.flatMap((entry) => {
    const [name, table] = entry.split('|') as [string, string];
    if (dialect === 'postgres') return [`DROP TRIGGER IF EXISTS ${name} ON ${table}`, `DROP FUNCTION IF EXISTS ${name}()`];
    return [`DROP TRIGGER IF EXISTS ${name}`];
  });
}
