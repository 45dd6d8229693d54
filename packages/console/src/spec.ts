/**
 * The task form's model and its mapping to and from a task spec (the body of POST /api/v1/tasks).
 * Form field names follow the spec's paths, so the API's field issues (`schedule.cron`) land on
 * the right field.
 */
import type { TFunction } from 'i18next';
import YAML from 'yaml';

export type ScheduleKind = 'cron' | 'every' | 'fixed-delay' | 'at' | 'manual';
export type Spec = Record<string, any>;

export interface FormValues {
  namespace?: string;
  name?: string;
  description?: string;
  kind: ScheduleKind;
  schedule: { cron?: string; timezone?: string; every?: string; at?: string; startAt?: string; endAt?: string; jitterMs?: string };
  target: {
    type: TargetType;
    url?: string; cancelUrl?: string; secret?: string; headers?: string;
    group?: string; handler?: string; command?: string;
    routing?: RoutingValues;
  } & ContainerValues;
  retry: { maxAttempts?: number; backoff: { type?: string; initialMs?: string; maxMs?: string; multiplier?: number; jitter?: number } };
  timeoutMs?: string;
  overlap?: string;
  maxConcurrency?: number;
  misfire: { policy?: string; windowMs?: string; maxCatchUp?: number };
  params?: string;
}

export const TASK_TARGET_TYPES = ['http', 'executor', 'shell', 'grpc', 'container'] as const;
export type TargetType = (typeof TASK_TARGET_TYPES)[number];
export const PULL_POLICIES = ['if-missing', 'always', 'never'] as const;

/** A container's environment variable in the form: one row of the env list. */
export interface EnvEntry { name?: string; value?: string }

/**
 * The fields of a container target. Named as the spec's paths, but for the command: the form's
 * `command` is a shell target's string, so a container's argument list is `containerCommand`
 * (TaskForm maps the API's `target.command` issues of a container task to it).
 */
export interface ContainerValues {
  image?: string;
  /** Replaces the image's entrypoint: one argument per entry, so an argument may hold spaces or newlines. */
  containerCommand?: string[];
  /** Replaces the image's command, one argument per entry. */
  args?: string[];
  env?: EnvEntry[];
  workingDir?: string;
  resources?: { cpus?: number | null; memoryMb?: number | null };
  pull?: (typeof PULL_POLICIES)[number];
  engine?: string;
}

export const ROUTING_STRATEGIES = ['round-robin', 'weighted-round-robin', 'random', 'least-busy', 'consistent-hash', 'first', 'failover'] as const;
/** How many nodes an attempt goes to: one, every one, `count` of them, or `sharding.total` shards. */
export const ROUTING_MODES = ['unicast', 'broadcast', 'multicast', 'sharding'] as const;
export type RoutingMode = (typeof ROUTING_MODES)[number];

/** `target.routing` of executor and shell targets. `mode` is the form's only; the others are the spec's paths. */
export interface RoutingValues {
  strategy?: string;
  hashKey?: string;
  /** Label selector as `key=value` entries. */
  selector?: string[];
  mode?: RoutingMode;
  count?: number;
  sharding?: { total?: number };
}

export const DEFAULT_FORM: FormValues = {
  namespace: 'default',
  kind: 'cron',
  schedule: { cron: '0 * * * * *', timezone: 'UTC' },
  target: { type: 'http', url: '', routing: { mode: 'unicast' }, pull: 'if-missing' },
  retry: { maxAttempts: 1, backoff: { type: 'exponential', initialMs: '1s', maxMs: '1m', multiplier: 2, jitter: 0 } },
  overlap: 'allow',
  misfire: { policy: 'fire-once', maxCatchUp: 100 },
  params: '{}',
};

/** A duration as typed: digits are milliseconds, anything else ("10s") goes to the API as written. */
export function duration(value: string | number | undefined | null): number | string | undefined {
  if (value === undefined || value === null || String(value).trim() === '') return undefined;
  const text = String(value).trim();
  return /^\d+$/.test(text) ? Number(text) : text;
}

/** Milliseconds as the shortest exact duration string. */
export function msText(ms: unknown): string | undefined {
  if (typeof ms !== 'number') return typeof ms === 'string' ? ms : undefined;
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

const clean = <T extends Record<string, unknown>>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== '' && v !== null)) as T;

/** The schedule part of the spec, as the preview endpoint takes it. */
export function scheduleOf(values: Pick<FormValues, 'kind' | 'schedule'>): Spec {
  const s = values.schedule ?? {};
  const bounds = values.kind === 'manual' ? {} : clean({ startAt: s.startAt, endAt: s.endAt, jitterMs: duration(s.jitterMs) });
  switch (values.kind) {
    case 'cron': return { cron: s.cron?.trim() ?? '', ...(s.timezone ? { timezone: s.timezone } : {}), ...bounds };
    case 'every': return { every: duration(s.every), ...bounds };
    case 'fixed-delay': return { every: duration(s.every), mode: 'fixed-delay', ...bounds };
    case 'at': return { at: s.at, ...bounds };
    default: return { manual: true };
  }
}

export function parseJsonObject(text: string | undefined, what: string): Record<string, unknown> | undefined {
  if (!text || !text.trim()) return undefined;
  const value = JSON.parse(text) as unknown;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${what} must be a JSON object`);
  return value as Record<string, unknown>;
}

/** The target fields (see TargetFields.tsx) as a spec's `target`: a task's, or a workflow node's. */
export function targetToSpec(t: FormValues['target']): Spec {
  switch (t.type) {
    case 'http': return clean({ type: 'http', url: t.url, cancelUrl: t.cancelUrl, secret: t.secret, headers: parseJsonObject(t.headers, 'headers') });
    case 'executor': return clean({ type: 'executor', group: t.group, handler: t.handler, routing: routingToSpec(t.routing) });
    case 'shell': return clean({ type: 'shell', group: t.group, command: t.command, routing: routingToSpec(t.routing) });
    case 'container': return containerToSpec(t);
    default: return { type: 'grpc', url: t.url };
  }
}

const text = (value: string | undefined) => value?.trim() || undefined;
const argv = (list: (string | undefined)[] | undefined) => (list?.length ? list.map((arg) => arg ?? '') : undefined);

/** A container target: routing only with a group (without one, the server's engine runs it). */
function containerToSpec(t: FormValues['target']): Spec {
  const group = text(t.group);
  const resources = clean({ cpus: t.resources?.cpus, memoryMb: t.resources?.memoryMb });
  return clean({
    type: 'container', image: text(t.image), command: argv(t.containerCommand), args: argv(t.args), env: envToSpec(t.env),
    workingDir: text(t.workingDir), resources: Object.keys(resources).length ? resources : undefined, pull: t.pull, engine: text(t.engine),
    group, routing: group ? routingToSpec(t.routing) : undefined,
  });
}

/** The env rows as the spec's record; rows left empty are dropped, a value without a name throws. */
export function envToSpec(entries: EnvEntry[] | undefined): Record<string, string> | undefined {
  let env: Record<string, string> | undefined;
  for (const entry of entries ?? []) {
    const name = entry?.name?.trim() ?? '';
    if (!name && !entry?.value) continue;
    if (!name) throw new Error('each environment variable needs a name');
    env = { ...env, [name]: entry.value ?? '' };
  }
  return env;
}

/** A spec's `target` in the target fields. */
export function targetToForm(target: Spec | undefined): FormValues['target'] {
  const t = target ?? { type: 'http' };
  const container = t.type === 'container';
  return {
    type: t.type, url: t.url, cancelUrl: t.cancelUrl, secret: t.secret ?? undefined,
    headers: t.headers ? JSON.stringify(t.headers) : undefined, group: t.group, handler: t.handler,
    command: typeof t.command === 'string' ? t.command : undefined,
    routing: routingToForm(t.routing),
    image: t.image, containerCommand: container && Array.isArray(t.command) ? [...t.command] : undefined,
    args: Array.isArray(t.args) ? [...t.args] : undefined,
    env: container && t.env ? Object.entries(t.env as Record<string, string>).map(([name, value]) => ({ name, value })) : undefined,
    workingDir: t.workingDir, resources: container && t.resources ? { cpus: t.resources.cpus, memoryMb: t.resources.memoryMb } : undefined,
    pull: t.pull ?? 'if-missing', engine: t.engine,
  };
}

/** What a target runs, in a few words: `http <url>`, `shell <group>/<command>`, `container <image> on <group>`. */
export function describeTarget(target: Spec | undefined, t: TFunction): string {
  const word = (value: unknown) => (typeof value === 'string' ? value : '');
  if (!target || typeof target !== 'object') return '—';
  if (target.type === 'http' || target.type === 'grpc') return `${target.type} ${word(target.url)}`;
  if (target.type === 'container') {
    return target.group ? t('describe.containerOn', { image: word(target.image), group: word(target.group) }) : t('describe.container', { image: word(target.image) });
  }
  return `${word(target.type)} ${word(target.group)}/${word(target.handler) || word(target.command)}`;
}

export function formToSpec(values: FormValues): Spec {
  const target = targetToSpec(values.target);
  const b = values.retry?.backoff ?? {};
  return clean({
    namespace: values.namespace,
    name: values.name,
    description: values.description,
    schedule: scheduleOf(values),
    target,
    retry: {
      maxAttempts: values.retry?.maxAttempts ?? 1,
      backoff: clean({ type: b.type, initialMs: duration(b.initialMs), maxMs: duration(b.maxMs), multiplier: b.multiplier, jitter: b.jitter }),
    },
    timeoutMs: duration(values.timeoutMs),
    overlap: values.overlap,
    maxConcurrency: values.maxConcurrency,
    misfire: clean({ policy: values.misfire?.policy, windowMs: duration(values.misfire?.windowMs), maxCatchUp: values.misfire?.maxCatchUp }),
    params: parseJsonObject(values.params, 'params') ?? {},
  });
}

/** A `key=value` entry of a label selector: the key up to the first `=`. */
export function parseSelectorEntry(entry: string): [string, string] | null {
  const at = entry.indexOf('=');
  if (at <= 0) return null;
  return [entry.slice(0, at).trim(), entry.slice(at + 1).trim()];
}

/** The spec's `routing`, or undefined when every option is the default (unicast, round-robin, no selector). */
export function routingToSpec(r: RoutingValues | undefined): Spec | undefined {
  if (!r) return undefined;
  let selector: Record<string, string> | undefined;
  for (const entry of r.selector ?? []) {
    const pair = parseSelectorEntry(entry);
    if (!pair) throw new Error(`selector entries are key=value, not "${entry}"`);
    selector = { ...selector, [pair[0]]: pair[1] };
  }
  const mode = r.mode ?? 'unicast';
  const routing = clean({
    strategy: r.strategy,
    hashKey: r.hashKey?.trim() || undefined,
    selector,
    broadcast: mode === 'broadcast' ? true : undefined,
    count: mode === 'multicast' ? r.count : undefined,
    sharding: mode === 'sharding' && r.sharding?.total !== undefined ? { total: r.sharding.total } : undefined,
  });
  return Object.keys(routing).length ? routing : undefined;
}

export function routingToForm(r: Spec | undefined): RoutingValues {
  if (!r) return { mode: 'unicast' };
  // The scheduler's precedence: sharding, then a count (multicast, even with broadcast), then broadcast.
  const mode: RoutingMode = r.sharding ? 'sharding' : r.count !== undefined ? 'multicast' : r.broadcast ? 'broadcast' : 'unicast';
  return {
    strategy: r.strategy, hashKey: r.hashKey, mode, count: r.count, sharding: r.sharding ? { total: r.sharding.total } : undefined,
    selector: r.selector ? Object.entries(r.selector as Record<string, string>).map(([k, v]) => `${k}=${v}`) : undefined,
  };
}

export function specToForm(spec: Spec): FormValues {
  const s = spec.schedule ?? {};
  const kind: ScheduleKind = s.cron !== undefined ? 'cron' : s.every !== undefined ? (s.mode === 'fixed-delay' ? 'fixed-delay' : 'every') : s.at !== undefined ? 'at' : s.manual ? 'manual' : 'cron';
  const retry = spec.retry ?? {};
  const backoff = retry.backoff ?? {};
  const misfire = spec.misfire ?? {};
  return {
    namespace: spec.namespace ?? 'default',
    name: spec.name,
    description: spec.description,
    kind,
    schedule: {
      cron: s.cron, timezone: s.timezone ?? (kind === 'cron' ? 'UTC' : undefined), every: msText(s.every), at: s.at,
      startAt: s.startAt, endAt: s.endAt, jitterMs: msText(s.jitterMs),
    },
    target: targetToForm(spec.target),
    retry: {
      maxAttempts: retry.maxAttempts ?? 1,
      backoff: { type: backoff.type ?? 'exponential', initialMs: msText(backoff.initialMs) ?? '1s', maxMs: msText(backoff.maxMs) ?? '1m', multiplier: backoff.multiplier ?? 2, jitter: backoff.jitter ?? 0 },
    },
    timeoutMs: msText(spec.timeoutMs),
    overlap: spec.overlap ?? 'allow',
    maxConcurrency: spec.maxConcurrency,
    misfire: { policy: misfire.policy ?? 'fire-once', windowMs: msText(misfire.windowMs), maxCatchUp: misfire.maxCatchUp ?? 100 },
    params: JSON.stringify(spec.params ?? {}, null, 2),
  };
}

export type SpecFormat = 'json' | 'yaml';

export function specToText(spec: Spec, format: SpecFormat): string {
  return format === 'json' ? JSON.stringify(spec, null, 2) : YAML.stringify(spec);
}

export function textToSpec(text: string, format: SpecFormat): Spec {
  const value = format === 'json' ? JSON.parse(text) : YAML.parse(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('the spec must be an object');
  return value as Spec;
}

/** One line describing a schedule, for lists; `t` translates the words (keys under `describe.`). */
export function describeSchedule(s: Spec | undefined, t: TFunction): string {
  if (!s) return '—';
  if (s.cron !== undefined) return `${s.cron} (${s.timezone ?? 'UTC'})`;
  if (s.every !== undefined) return t(s.mode === 'fixed-delay' ? 'describe.fixedDelay' : 'describe.every', { every: msText(s.every) });
  if (s.at !== undefined) return t('describe.at', { at: s.at });
  return t('describe.manual');
}
