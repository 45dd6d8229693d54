import type { ExecutorList, NodeList, RunLogResource, RunResource, TaskResource, TokenResource } from '@ecron/contracts';
import { formatDuration, formatInstant, formatKeyValues, formatTable, formatValue, indent } from './output.ts';

/** How tasks, runs, logs and tokens read in human output. */

type Loose = Record<string, unknown>;

function durationText(value: unknown): string {
  return typeof value === 'number' ? formatDuration(value) : formatValue(value);
}

/** `cron 0 30 2 * * * (Asia/Shanghai)`, `every 10s`, `every 10s fixed-delay`, `at …`, `manual`. */
export function describeSchedule(schedule: unknown): string {
  const s = (schedule ?? {}) as Loose;
  if (typeof s.cron === 'string') return `cron ${s.cron}${typeof s.timezone === 'string' && s.timezone !== 'UTC' ? ` (${s.timezone})` : ''}`;
  if (s.every !== undefined) return `every ${durationText(s.every)}${s.mode === 'fixed-delay' ? ' fixed-delay' : ''}`;
  if (typeof s.at === 'string') return `at ${formatInstant(s.at)}`;
  if (s.manual === true) return 'manual';
  return formatValue(schedule);
}

/** `http http://…`, `executor billing/report`, `shell ops: cmd`, `grpc …`, `container image[ on group]`. */
export function describeTarget(target: unknown): string {
  const t = (target ?? {}) as Loose;
  switch (t.type) {
    case 'http':
    case 'grpc':
      return `${t.type} ${formatValue(t.url)}`;
    case 'executor':
      return `executor ${formatValue(t.group)}/${formatValue(t.handler)}`;
    case 'shell':
      return `shell ${formatValue(t.group)}: ${formatValue(t.command)}`;
    case 'container':
      return `container ${formatValue(t.image)}${t.group ? ` on ${formatValue(t.group)}` : ''}`;
    default:
      return formatValue(target);
  }
}

export function taskLabel(task: Pick<TaskResource, 'namespace' | 'name'>): string {
  return `${task.namespace}/${task.name}`;
}

export function taskTable(tasks: readonly TaskResource[]): string {
  return formatTable(
    ['id', 'namespace', 'name', 'state', 'schedule', 'next fire', 'last status'],
    tasks.map((t) => [t.id, t.namespace, t.name, t.state, describeSchedule(t.spec?.schedule), formatInstant(t.nextFireAt), formatValue(t.lastRunStatus)]),
  );
}

/** A task as `key: value` lines, then its spec as YAML (`toYaml` is passed in so yaml loads only when needed). */
export function taskDetails(task: TaskResource, toYaml: (value: unknown) => string): string {
  const spec = (task.spec ?? {}) as Loose;
  const block = formatKeyValues([
    ['id', task.id],
    ['namespace', task.namespace],
    ['name', task.name],
    ['revision', String(task.revision)],
    ['state', task.state],
    ['schedule', describeSchedule(spec.schedule)],
    ['target', describeTarget(spec.target)],
    ['next fire', formatInstant(task.nextFireAt)],
    ['last fire', formatInstant(task.lastFireAt)],
    ['last status', formatValue(task.lastRunStatus)],
    ['skipped fires', String(task.skippedFires ?? 0)],
    ['created', formatInstant(task.createdAt)],
    ['updated', formatInstant(task.updatedAt)],
  ]);
  return `${block}spec:\n${indent(toYaml(task.spec ?? {}))}`;
}

export function runTable(runs: readonly RunResource[]): string {
  return formatTable(
    ['id', 'task', 'status', 'trigger', 'scheduled', 'started', 'finished', 'attempt'],
    runs.map((r) => [r.id, `${r.namespace}/${r.taskName}`, r.status, r.trigger, formatInstant(r.scheduledAt), formatInstant(r.startedAt), formatInstant(r.finishedAt), String(r.attempt)]),
  );
}

export function runDetails(run: RunResource): string {
  const entries: [string, string][] = [
    ['id', run.id],
    ['task', `${run.namespace}/${run.taskName} (${run.taskId}, revision ${run.taskRevision})`],
    ['status', run.status],
    ['trigger', run.trigger],
    ['attempt', String(run.attempt)],
    ['scheduled', formatInstant(run.scheduledAt)],
    ['created', formatInstant(run.createdAt)],
    ['started', formatInstant(run.startedAt)],
    ['finished', formatInstant(run.finishedAt)],
  ];
  if (run.nextAttemptAt) entries.push(['next attempt', formatInstant(run.nextAttemptAt)]);
  if (run.progress !== null && run.progress !== undefined) entries.push(['progress', String(run.progress)]);
  entries.push(['params', formatValue(run.params && Object.keys(run.params).length > 0 ? run.params : null)]);
  entries.push(['error', formatValue(run.error)]);
  entries.push(['output', formatValue(run.output)]);
  let text = formatKeyValues(entries);
  if (Array.isArray(run.attempts) && run.attempts.length > 0) {
    text += `attempts:\n${indent(formatTable(
      ['#', 'status', 'executor', 'started', 'finished', 'error'],
      run.attempts.map((a) => [String(a.number), a.status, formatValue(a.executor), formatInstant(a.startedAt), formatInstant(a.finishedAt), formatValue(a.error)]),
    ))}`;
  }
  return text;
}

/** One log line: `2026-01-01T00:00:00.123Z  INFO  #1  message`. */
export function logLine(entry: RunLogResource): string {
  const level = String(entry.level ?? 'info').toUpperCase().padEnd(5);
  return `${entry.at}  ${level}  #${entry.attempt}  ${entry.message}\n`;
}

/** The expires column: the instant, marked once it has passed. */
function expiryText(token: TokenResource): string {
  const at = formatInstant(token.expiresAt);
  return token.expired ? `${at} (expired)` : at;
}

/** An executor token's groups; `*` for one of every group, `-` for the other roles (they have none). Older servers send no `groups`. */
function groupsText(t: TokenResource): string {
  if (t.groups) return t.groups.join(',');
  return t.role === 'executor' ? '*' : '-';
}

export function tokenTable(tokens: readonly TokenResource[]): string {
  return formatTable(
    ['id', 'name', 'role', 'namespaces', 'groups', 'created', 'last used', 'expires', 'revoked'],
    tokens.map((t) => [
      t.id, t.name, t.role, (t.namespaces ?? []).join(','), groupsText(t), formatInstant(t.createdAt), formatInstant(t.lastUsedAt), expiryText(t),
      formatInstant(t.revokedAt),
    ]),
  );
}

export function nodeTable(list: NodeList): string {
  // A live node whose tz database is not the cluster's takes no buckets (docs/cluster.md).
  const offTz = (n: NodeList['items'][number]) => n.alive && n.tzVersion !== null && list.clusterTzVersion !== null && n.tzVersion !== list.clusterTzVersion;
  const table = formatTable(
    ['id', 'address', 'alive', 'tz', 'buckets', 'lease expires', 'last heartbeat'],
    list.items.map((n) => [
      n.id, n.address ?? '-', n.alive ? 'yes' : 'no', `${n.tzVersion ?? '-'}${offTz(n) ? '*' : ''}`, String(n.buckets.length),
      formatInstant(n.leaseExpiresAt), formatInstant(n.heartbeatAt),
    ]),
  );
  const unowned = list.buckets.unowned > 0 ? `${list.buckets.unowned} of ${list.buckets.total} buckets have no live owner (a takeover is under way)\n` : '';
  const tz = list.items.some(offTz)
    ? `* tz database differs from the cluster's (${list.clusterTzVersion}): the node takes no buckets until it runs the same one\n`
    : '';
  return `${table}${unowned}${tz}`;
}

/** How long ago `instant` was, in whole seconds: `4s ago`, `2m5s ago`; `-` when unknown. */
export function ageText(instant: string, now: number): string {
  const ms = now - Date.parse(instant);
  if (!Number.isFinite(ms)) return '-';
  return ms < 1000 ? '0s ago' : `${formatDuration(Math.floor(ms / 1000) * 1000)} ago`;
}

/** `key=value,…` of a node's labels; `-` for none. */
function labelsText(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  return entries.length === 0 ? '-' : entries.map(([key, value]) => `${key}=${value}`).join(',');
}

/** Executor nodes as the API orders them (live first); heartbeat ages as of `now` (this machine's clock). */
export function executorTable(list: ExecutorList, now: number): string {
  return formatTable(
    ['id', 'group', 'mode', 'address', 'labels', 'weight', 'inflight', 'alive', 'last heartbeat'],
    list.items.map((e) => [e.id, e.group, e.mode, e.address ?? '-', labelsText(e.labels), String(e.weight), String(e.inflight), e.alive ? 'yes' : 'no', ageText(e.heartbeatAt, now)]),
  );
}
