/**
 * `ecron import cronjob`: Kubernetes CronJob manifests (a YAML stream, or a `kind: List` with
 * items; `batch/v1` and `batch/v1beta1`) into task specs with `container` targets. Pure: the
 * caller reads the file and talks to the server.
 *
 * What maps (docs/migration.md has the table): the schedule and its time zone; concurrencyPolicy →
 * overlap; startingDeadlineSeconds → misfire window; suspend → a paused task; backoffLimit →
 * retries, with Kubernetes' back-off (10 s doubling to 6 min); activeDeadlineSeconds → timeoutMs;
 * and the pod's container → image, command, args, env values, workingDir, cpu and memory limits and
 * pull policy. Everything else of a manifest (volumes, secrets, service accounts, node placement,
 * more containers…) has no counterpart in a task: each is a warning naming the field, and the task
 * is made without it. A document that is not a CronJob, or whose schedule, name or image cannot be
 * converted, is an error and makes no task.
 */
import { parseAllDocuments } from 'yaml';
import { checkCronExpression, isValidTimeZone, TASK_LABEL_KEY } from '@ecron/contracts';
import { type ImportProblem, type ImportResult, type ImportedTask, cronOfMacro, specIssues, truncate } from './common.ts';
import { cpusOf, memoryMbOf } from './k8s-quantity.ts';

export interface CronJobOptions {
  /** The namespace of every task, over each manifest's `metadata.namespace`. */
  namespace?: string;
  /** The container engine of the targets (a name the server or the agents configure). */
  engine?: string;
  /** Run the containers on the `ecron agent`s of this executor group instead of the server's engine. */
  group?: string;
  /** The file's name, for sources (`file#2`). @default (input) */
  file?: string;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

const API_VERSIONS = new Set(['batch/v1', 'batch/v1beta1']);
const OVERLAP: Readonly<Record<string, string>> = { Allow: 'allow', Forbid: 'skip', Replace: 'cancel-previous' };
const PULL: Readonly<Record<string, string>> = { Always: 'always', IfNotPresent: 'if-missing', Never: 'never' };
/** Kubernetes' default backoffLimit, and its back-off between pod failures (10 s, doubling, at most 6 min). */
const DEFAULT_BACKOFF_LIMIT = 6;
const K8S_BACKOFF = { type: 'exponential', initialMs: 10_000, maxMs: 360_000 } as const;
const MAX_TIMEOUT_MS = 7 * 86_400_000;
const MAX_LABELS = 63; // TaskLabelsSchema allows 64; one is source=cronjob
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** Why a field of the pod or the container is not converted, for the fields users ask about most. */
const WHY: Readonly<Record<string, string>> = {
  volumes: 'a container target mounts no volumes',
  volumeMounts: 'a container target mounts no volumes',
  initContainers: 'a task runs one container: run the init steps in its command, or as a workflow step before it',
  envFrom: 'the variables of a Secret or ConfigMap are not copied: set them on the container engine\'s host, or in env',
  serviceAccountName: 'a container has no Kubernetes identity',
  serviceAccount: 'a container has no Kubernetes identity',
  automountServiceAccountToken: 'a container has no Kubernetes identity',
  nodeSelector: 'a container runs on the server\'s engine, or on an agent of the target\'s group (--engine, group)',
  affinity: 'a container runs on the server\'s engine, or on an agent of the target\'s group',
  tolerations: 'a container runs on the server\'s engine, or on an agent of the target\'s group',
  imagePullSecrets: 'log the container engine in to the registry instead',
  securityContext: 'the engine\'s defaults apply',
  successfulJobsHistoryLimit: 'ecron keeps every run until the server\'s --history-retention',
  failedJobsHistoryLimit: 'ecron keeps every run until the server\'s --history-retention',
  parallelism: 'a task runs one container per fire (a sharded executor task splits work)',
  completions: 'a task runs one container per fire',
  ttlSecondsAfterFinished: 'ecron removes the container when it exits and keeps the run until --history-retention',
};
/** Fields read by the converter (or harmless to drop silently), per level. */
const HANDLED = {
  cronJob: new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']),
  cronJobSpec: new Set(['schedule', 'timeZone', 'concurrencyPolicy', 'startingDeadlineSeconds', 'suspend', 'jobTemplate']),
  jobSpec: new Set(['template', 'backoffLimit', 'activeDeadlineSeconds']),
  podSpec: new Set(['containers', 'restartPolicy', 'activeDeadlineSeconds']),
  container: new Set(['name', 'image', 'command', 'args', 'env', 'workingDir', 'resources', 'imagePullPolicy', 'terminationMessagePath', 'terminationMessagePolicy']),
};

class ManifestConverter {
  readonly warnings: string[] = [];
  readonly errors: string[] = [];
  readonly options: CronJobOptions;

  constructor(options: CronJobOptions) {
    this.options = options;
  }

  warn(message: string): void {
    this.warnings.push(message);
  }

  /** A warning for each field of `object` the converter does not read. */
  unconverted(object: Json, handled: ReadonlySet<string>, path: string): void {
    for (const key of Object.keys(object)) {
      if (handled.has(key) || object[key] === undefined || object[key] === null) continue;
      this.warn(`${path}${key} is not converted${WHY[key] ? `: ${WHY[key]}` : ''}`);
    }
  }

  /** The manifest's task, or undefined (with errors) when there is none. */
  convert(manifest: Json): { spec: Json; paused: boolean } | undefined {
    const metadata = isObject(manifest.metadata) ? manifest.metadata : {};
    const spec = isObject(manifest.spec) ? manifest.spec : undefined;
    if (typeof metadata.name !== 'string' || metadata.name === '') this.errors.push('metadata.name is missing');
    if (!spec) {
      this.errors.push('spec is missing');
      return undefined;
    }
    this.unconverted(manifest, HANDLED.cronJob, '');
    this.unconverted(spec, HANDLED.cronJobSpec, 'spec.');
    const schedule = this.schedule(spec);
    const jobTemplate = isObject(spec.jobTemplate) ? spec.jobTemplate : {};
    if (isObject(jobTemplate.metadata)) this.warn('spec.jobTemplate.metadata is not converted (the labels and annotations of the Jobs)');
    const jobSpec = isObject(jobTemplate.spec) ? jobTemplate.spec : {};
    this.unconverted(jobSpec, HANDLED.jobSpec, 'spec.jobTemplate.spec.');
    const template = isObject(jobSpec.template) ? jobSpec.template : {};
    if (isObject(template.metadata)) this.warn('spec.jobTemplate.spec.template.metadata is not converted (the labels and annotations of the pods)');
    const podSpec = isObject(template.spec) ? template.spec : {};
    this.unconverted(podSpec, HANDLED.podSpec, 'pod spec: ');
    const target = this.target(podSpec);
    if (!schedule || !target || this.errors.length > 0) return undefined;

    const name = metadata.name as string;
    const namespace = this.options.namespace ?? (typeof metadata.namespace === 'string' && metadata.namespace !== '' ? metadata.namespace : 'default');
    const task: Json = {
      namespace, name,
      description: truncate(`Kubernetes CronJob ${typeof metadata.namespace === 'string' ? `${metadata.namespace}/` : ''}${name}, imported by ecron import cronjob`, 2000),
      labels: { ...this.labels(metadata.labels), source: 'cronjob' },
      schedule, target,
      overlap: this.overlap(spec.concurrencyPolicy),
      retry: { maxAttempts: this.maxAttempts(jobSpec.backoffLimit), backoff: { ...K8S_BACKOFF } },
    };
    const deadline = this.seconds(spec.startingDeadlineSeconds, 'spec.startingDeadlineSeconds');
    if (deadline !== undefined) task.misfire = { policy: 'fire-once', windowMs: deadline * 1000 };
    const active = this.seconds(jobSpec.activeDeadlineSeconds, 'spec.jobTemplate.spec.activeDeadlineSeconds')
      ?? this.seconds(podSpec.activeDeadlineSeconds, 'pod spec: activeDeadlineSeconds');
    if (active !== undefined) {
      if (active * 1000 > MAX_TIMEOUT_MS) this.warn(`activeDeadlineSeconds ${active} is more than ecron's longest timeout: timeoutMs is 7 days`);
      if (active > 0) task.timeoutMs = Math.min(active * 1000, MAX_TIMEOUT_MS);
    }
    return { spec: task, paused: spec.suspend === true };
  }

  seconds(value: unknown, path: string): number | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
    this.warn(`${path} ${JSON.stringify(value)} is not a whole number of seconds: not converted`);
    return undefined;
  }

  schedule(spec: Json): Json | undefined {
    if (typeof spec.schedule !== 'string' || spec.schedule.trim() === '') {
      this.errors.push('spec.schedule is missing');
      return undefined;
    }
    let expression = spec.schedule.trim();
    let timezone: string | undefined;
    const prefixed = /^(CRON_TZ|TZ)=(\S+)\s+(.*)$/.exec(expression);
    if (prefixed) {
      // Kubernetes refuses this form since 1.27 (spec.timeZone replaces it); older clusters ran it.
      timezone = prefixed[2];
      expression = prefixed[3]!.trim();
      this.warn(`the ${prefixed[1]}= prefix of spec.schedule is read as the time zone ${timezone} (Kubernetes 1.27 and later refuse it: use spec.timeZone)`);
    }
    if (typeof spec.timeZone === 'string' && spec.timeZone !== '') timezone = spec.timeZone;
    if (expression.startsWith('@')) {
      const macro = cronOfMacro(expression);
      if (macro === undefined) {
        this.errors.push(`spec.schedule ${JSON.stringify(spec.schedule)}: ${/^@every\b/i.test(expression) ? '@every is not converted (write a cron expression, or an ecron "every" schedule by hand)' : 'unknown macro'}`);
        return undefined;
      }
      expression = macro;
    }
    const fields = expression.split(/\s+/).length;
    const check = fields === 5 ? checkCronExpression(expression) : { ok: false as const, message: `a CronJob schedule has 5 fields; got ${fields}` };
    if (!check.ok) {
      this.errors.push(`spec.schedule ${JSON.stringify(spec.schedule)} is invalid: ${check.message}`);
      return undefined;
    }
    if (timezone !== undefined && !isValidTimeZone(timezone)) {
      this.errors.push(`unknown time zone ${JSON.stringify(timezone)} (use an IANA name such as Europe/Paris)`);
      return undefined;
    }
    return { cron: expression, timezone: timezone ?? 'UTC' };
  }

  overlap(policy: unknown): string {
    if (policy === undefined || policy === null) return 'allow';
    const overlap = typeof policy === 'string' ? OVERLAP[policy] : undefined;
    if (overlap === undefined) this.warn(`spec.concurrencyPolicy ${JSON.stringify(policy)} is not Allow, Forbid or Replace: the task allows overlapping runs`);
    return overlap ?? 'allow';
  }

  maxAttempts(limit: unknown): number {
    const backoffLimit = this.seconds(limit, 'spec.jobTemplate.spec.backoffLimit') ?? DEFAULT_BACKOFF_LIMIT;
    if (backoffLimit + 1 > 100) this.warn(`backoffLimit ${backoffLimit} allows more attempts than ecron's 100: retry.maxAttempts is 100`);
    return Math.min(backoffLimit + 1, 100);
  }

  labels(raw: unknown): Record<string, string> {
    const labels: Record<string, string> = {};
    const dropped: string[] = [];
    for (const [key, value] of Object.entries(isObject(raw) ? raw : {})) {
      const text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
      if (key === 'source' || !TASK_LABEL_KEY.test(key) || text === undefined || text.length > 256 || Object.keys(labels).length >= MAX_LABELS) dropped.push(key);
      else labels[key] = text;
    }
    if (dropped.length > 0) {
      this.warn(`labels not kept (a task's label key is 1-63 letters, digits, ".", "_", "/" or "-", at most 64 labels, and "source" is set to cronjob): ${dropped.join(', ')}`);
    }
    return labels;
  }

  target(podSpec: Json): Json | undefined {
    const containers = Array.isArray(podSpec.containers) ? podSpec.containers.filter(isObject) : [];
    if (containers.length === 0) {
      this.errors.push('the pod template has no container');
      return undefined;
    }
    const container = containers[0]!;
    const label = typeof container.name === 'string' ? container.name : 'the first';
    if (containers.length > 1) {
      const others = containers.slice(1).map((c, i) => (typeof c.name === 'string' ? c.name : `#${i + 2}`));
      this.warn(`the pod has ${containers.length} containers: only ${label} is converted, not ${others.join(', ')} (a task runs one container)`);
    }
    const where = `container ${label}: `;
    this.unconverted(container, HANDLED.container, where);
    if (typeof container.image !== 'string' || container.image.trim() === '') {
      this.errors.push(`${where}image is missing`);
      return undefined;
    }
    const image = container.image.trim();
    const target: Json = { type: 'container', image };
    for (const key of ['command', 'args'] as const) {
      const value = container[key];
      if (value === undefined || value === null) continue;
      if (!Array.isArray(value)) {
        this.warn(`${where}${key} is not a list: not converted`);
        continue;
      }
      const words = value.map(String);
      target[key] = words;
      if (words.some((word) => /\$\([A-Za-z_][A-Za-z0-9_]*\)/.test(word))) {
        this.warn(`${where}${key} has $(VAR) references, which Kubernetes expands and the container engine does not: run them through a shell in the image`);
      }
    }
    const env = this.env(container, where);
    if (env) target.env = env;
    if (typeof container.workingDir === 'string' && container.workingDir !== '') {
      if (container.workingDir.startsWith('/')) target.workingDir = container.workingDir;
      else this.warn(`${where}workingDir ${JSON.stringify(container.workingDir)} is not an absolute path: not converted`);
    }
    const resources = this.resources(container.resources, where);
    if (resources) target.resources = resources;
    const pull = this.pull(container.imagePullPolicy, image, where);
    if (pull) target.pull = pull;
    if (this.options.engine) target.engine = this.options.engine;
    if (this.options.group) target.group = this.options.group;
    return target;
  }

  env(container: Json, where: string): Record<string, string> | undefined {
    if (!Array.isArray(container.env)) return undefined;
    const env: Record<string, string> = {};
    for (const entry of container.env.filter(isObject)) {
      const name = typeof entry.name === 'string' ? entry.name : '';
      if (entry.valueFrom !== undefined && entry.valueFrom !== null) {
        const source = isObject(entry.valueFrom) ? Object.keys(entry.valueFrom).join(', ') : 'valueFrom';
        this.warn(`${where}env ${name} is not converted: its value comes from ${source} (a Secret, ConfigMap or the pod), which ecron cannot read; set it in env by hand`);
        continue;
      }
      if (!ENV_NAME.test(name) || name.toUpperCase().startsWith('ECRON_') || name === 'TRACEPARENT') {
        this.warn(`${where}env ${JSON.stringify(name)} is not converted: ${name.toUpperCase().startsWith('ECRON_') || name === 'TRACEPARENT' ? 'ecron sets it' : 'not a valid variable name'}`);
        continue;
      }
      const value = entry.value === undefined || entry.value === null ? '' : String(entry.value);
      if (/\$\([A-Za-z_][A-Za-z0-9_]*\)/.test(value)) this.warn(`${where}env ${name} has $(VAR) references, which Kubernetes expands and ecron does not`);
      env[name] = value;
    }
    return Object.keys(env).length > 0 ? env : undefined;
  }

  resources(raw: unknown, where: string): Json | undefined {
    if (!isObject(raw)) return undefined;
    if (isObject(raw.requests)) this.warn(`${where}resources.requests are not converted: the container engine enforces limits only`);
    for (const key of Object.keys(raw)) if (key !== 'limits' && key !== 'requests') this.warn(`${where}resources.${key} is not converted`);
    const limits = isObject(raw.limits) ? raw.limits : {};
    const resources: Json = {};
    for (const key of Object.keys(limits)) {
      if (key !== 'cpu' && key !== 'memory') this.warn(`${where}resources.limits.${key} is not converted`);
    }
    if (limits.cpu !== undefined) {
      const cpus = cpusOf(limits.cpu);
      if (cpus === undefined) this.warn(`${where}resources.limits.cpu ${JSON.stringify(limits.cpu)} is not a quantity: not converted`);
      else if (cpus < 0.01) {
        this.warn(`${where}resources.limits.cpu ${JSON.stringify(limits.cpu)} is below the engine's 0.01 CPU: raised to 0.01`);
        resources.cpus = 0.01;
      } else resources.cpus = cpus;
    }
    if (limits.memory !== undefined) {
      const mb = memoryMbOf(limits.memory);
      if (mb === undefined) this.warn(`${where}resources.limits.memory ${JSON.stringify(limits.memory)} is not a quantity: not converted`);
      else if (mb < 6) {
        this.warn(`${where}resources.limits.memory ${JSON.stringify(limits.memory)} is below the engine's 6 MB: raised to 6`);
        resources.memoryMb = 6;
      } else resources.memoryMb = mb;
    }
    return Object.keys(resources).length > 0 ? resources : undefined;
  }

  /** The pull policy; without one, Kubernetes' default: Always for `:latest` or no tag, else IfNotPresent. */
  pull(policy: unknown, image: string, where: string): string | undefined {
    if (policy === undefined || policy === null) {
      const tagged = /@sha256:/.test(image) || /:[^/:]+$/.test(image);
      return !tagged || image.endsWith(':latest') ? 'always' : undefined;
    }
    const pull = typeof policy === 'string' ? PULL[policy] : undefined;
    if (pull === undefined) this.warn(`${where}imagePullPolicy ${JSON.stringify(policy)} is not Always, IfNotPresent or Never: not converted`);
    return pull;
  }
}

/** The manifests of the documents: a List's items are manifests of their own. */
function manifestsOf(text: string, file: string): { source: string; manifest?: unknown; error?: string }[] {
  const documents = parseAllDocuments(text.replace(/^\uFEFF/, ''));
  const out: { source: string; manifest?: unknown; error?: string }[] = [];
  const list = Array.isArray(documents) ? documents : [documents];
  list.forEach((document, i) => {
    const source = `${file}#${i + 1}`;
    if (document.errors.length > 0) {
      out.push({ source, error: `not valid YAML: ${(document.errors[0]!.message.split('\n')[0] ?? '').replace(/:\s*$/, '')}` });
      return;
    }
    const value: unknown = document.toJS();
    if (value === null || value === undefined) return;
    if (isObject(value) && typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items)) {
      value.items.forEach((item, j) => out.push({ source: `${source}.items[${j}]`, manifest: item }));
      return;
    }
    out.push({ source, manifest: value });
  });
  return out;
}

/** What a manifest is, for messages: `CronJob ops/backup`. */
function describe(manifest: Json): string {
  const metadata = isObject(manifest.metadata) ? manifest.metadata : {};
  const name = typeof metadata.name === 'string' ? metadata.name : '(no name)';
  return `${typeof manifest.kind === 'string' ? manifest.kind : '(no kind)'} ${typeof metadata.namespace === 'string' ? `${metadata.namespace}/` : ''}${name}`;
}

/** Converts the text of a manifest file. Every document that is not a task is explained in `problems`. */
export function convertCronJobs(text: string, options: CronJobOptions = {}): ImportResult {
  const tasks: ImportedTask[] = [];
  const problems: ImportProblem[] = [];
  for (const { source, manifest, error } of manifestsOf(text, options.file ?? '(input)')) {
    if (error !== undefined || !isObject(manifest)) {
      problems.push({ severity: 'error', where: source, message: error ?? 'not a Kubernetes object (a mapping with kind and apiVersion)' });
      continue;
    }
    const where = `${source} (${describe(manifest)})`;
    if (manifest.kind !== 'CronJob') {
      problems.push({ severity: 'error', where, message: `not a CronJob (kind: ${JSON.stringify(manifest.kind ?? null)}): only CronJobs are imported` });
      continue;
    }
    if (typeof manifest.apiVersion !== 'string' || !API_VERSIONS.has(manifest.apiVersion)) {
      problems.push({ severity: 'error', where, message: `apiVersion ${JSON.stringify(manifest.apiVersion ?? null)} is not batch/v1 or batch/v1beta1` });
      continue;
    }
    const converter = new ManifestConverter(options);
    const converted = converter.convert(manifest);
    const issues = converted ? specIssues(converted.spec) : undefined;
    for (const message of converter.errors) problems.push({ severity: 'error', where, message });
    if (converted && issues !== undefined) problems.push({ severity: 'error', where, message: `the converted spec is invalid: ${issues}` });
    for (const message of converter.warnings) problems.push({ severity: 'warning', where, message });
    if (converted && issues === undefined) tasks.push({ source: where, spec: converted.spec, ...(converted.paused ? { paused: true } : {}) });
  }
  return { tasks, problems };
}
