/**
 * The Kubernetes CronJob converter of `ecron import cronjob` (cli/import/cronjob.ts,
 * k8s-quantity.ts), as pure functions: every mapping and every refusal.
 */
import { TaskSpecSchema } from '@ecron/contracts';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { convertCronJobs, type CronJobOptions } from '../../src/cli/import/cronjob.ts';
import { cpusOf, memoryMbOf, parseQuantity } from '../../src/cli/import/k8s-quantity.ts';

type Json = Record<string, any>;

/** A CronJob manifest; `spec`, `job`, `pod` and `container` are merged into its parts. */
function cronJob(p: { metadata?: Json; spec?: Json; job?: Json; pod?: Json; container?: Json; apiVersion?: string } = {}): Json {
  return {
    apiVersion: p.apiVersion ?? 'batch/v1', kind: 'CronJob', metadata: { name: 'report', ...p.metadata },
    spec: {
      schedule: '*/10 * * * *', ...p.spec,
      jobTemplate: { spec: { ...p.job, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'main', image: 'registry.example.com/report:2.1', ...p.container }], ...p.pod } } } },
    },
  };
}

const convert = (manifests: Json[], options: CronJobOptions = {}) => convertCronJobs(manifests.map((m) => stringify(m)).join('---\n'), { file: 'jobs.yaml', ...options });
const one = (manifest: Json, options: CronJobOptions = {}) => {
  const result = convert([manifest], options);
  expect(result.tasks).toHaveLength(1);
  return { task: result.tasks[0]!, spec: result.tasks[0]!.spec as Json, warnings: result.problems.filter((p) => p.severity === 'warning').map((p) => p.message), result };
};
const errors = (manifest: Json) => {
  const result = convert([manifest]);
  expect(result.tasks).toEqual([]);
  return result.problems.filter((p) => p.severity === 'error').map((p) => p.message);
};

describe('convertCronJobs: mappings', () => {
  it('maps a full CronJob to a container task', () => {
    const { task, spec, warnings } = one(cronJob({
      metadata: { namespace: 'ops', labels: { app: 'report', 'app.kubernetes.io/part-of': 'billing' } },
      spec: { schedule: '30 2 * * 1-5', timeZone: 'Europe/Berlin', concurrencyPolicy: 'Forbid', startingDeadlineSeconds: 300, suspend: true },
      job: { backoffLimit: 2, activeDeadlineSeconds: 3600 },
      container: {
        command: ['/bin/report'], args: ['--day', 'yesterday', 7], workingDir: '/work', imagePullPolicy: 'Always',
        env: [{ name: 'LEVEL', value: 'full' }, { name: 'EMPTY' }, { name: 'COUNT', value: 3 }],
        resources: { limits: { cpu: '500m', memory: '128Mi' } },
      },
    }), { engine: 'podman' });
    expect(task.paused).toBe(true);
    expect(task.source).toBe('jobs.yaml#1 (CronJob ops/report)');
    expect(spec).toEqual({
      namespace: 'ops', name: 'report', description: 'Kubernetes CronJob ops/report, imported by ecron import cronjob',
      labels: { app: 'report', 'app.kubernetes.io/part-of': 'billing', source: 'cronjob' },
      schedule: { cron: '30 2 * * 1-5', timezone: 'Europe/Berlin' },
      target: {
        type: 'container', image: 'registry.example.com/report:2.1', command: ['/bin/report'], args: ['--day', 'yesterday', '7'],
        env: { LEVEL: 'full', EMPTY: '', COUNT: '3' }, workingDir: '/work', resources: { cpus: 0.5, memoryMb: 128 }, pull: 'always', engine: 'podman',
      },
      overlap: 'skip',
      retry: { maxAttempts: 3, backoff: { type: 'exponential', initialMs: 10_000, maxMs: 360_000 } },
      misfire: { policy: 'fire-once', windowMs: 300_000 },
      timeoutMs: 3_600_000,
    });
    expect(warnings).toEqual([]);
    expect(TaskSpecSchema.safeParse(spec).success).toBe(true);
  });

  it('maps concurrencyPolicy Allow/Forbid/Replace to overlap allow/skip/cancel-previous (default allow)', () => {
    const overlap = (policy?: string) => one(cronJob({ spec: policy === undefined ? {} : { concurrencyPolicy: policy } })).spec.overlap;
    expect([overlap('Allow'), overlap('Forbid'), overlap('Replace'), overlap()]).toEqual(['allow', 'skip', 'cancel-previous', 'allow']);
    const odd = one(cronJob({ spec: { concurrencyPolicy: 'Sometimes' } }));
    expect(odd.spec.overlap).toBe('allow');
    expect(odd.warnings[0]).toMatch(/concurrencyPolicy "Sometimes" is not Allow, Forbid or Replace/);
  });

  it('leaves misfire, timeout and pausing to the defaults when the manifest does not set them; backoffLimit defaults to Kubernetes\' 6', () => {
    const { task, spec } = one(cronJob());
    expect(spec.misfire).toBeUndefined();
    expect(spec.timeoutMs).toBeUndefined();
    expect(task.paused).toBeUndefined();
    expect(spec.retry.maxAttempts).toBe(7);
    expect(spec.schedule).toEqual({ cron: '*/10 * * * *', timezone: 'UTC' });
    expect(spec.namespace).toBe('default');
    expect(one(cronJob({ job: { backoffLimit: 0 } })).spec.retry.maxAttempts).toBe(1);
    const capped = one(cronJob({ job: { backoffLimit: 500 } }));
    expect(capped.spec.retry.maxAttempts).toBe(100);
    expect(capped.warnings[0]).toMatch(/more attempts than ecron's 100/);
    expect(one(cronJob({ pod: { activeDeadlineSeconds: 60 } })).spec.timeoutMs).toBe(60_000);
  });

  it('maps imagePullPolicy, and without one applies Kubernetes\' default (Always for :latest or no tag)', () => {
    const pull = (image: string, policy?: string) => one(cronJob({ container: { image, ...(policy ? { imagePullPolicy: policy } : {}) } })).spec.target.pull;
    expect(pull('a:1', 'Always')).toBe('always');
    expect(pull('a:1', 'IfNotPresent')).toBe('if-missing');
    expect(pull('a:1', 'Never')).toBe('never');
    expect(pull('busybox')).toBe('always');
    expect(pull('registry:5000/busybox:latest')).toBe('always');
    expect(pull('registry:5000/busybox')).toBe('always');
    expect(pull('busybox:1.36')).toBeUndefined();
    expect(pull('busybox@sha256:abcd')).toBeUndefined();
  });

  it('takes the namespace from --namespace over metadata.namespace, and the group of the target from --group', () => {
    expect(one(cronJob({ metadata: { namespace: 'k8s-ns' } }), { namespace: 'mine' }).spec.namespace).toBe('mine');
    expect(one(cronJob(), { group: 'runners', engine: 'podman' }).spec.target).toMatchObject({ group: 'runners', engine: 'podman' });
  });

  it('keeps only the labels a task accepts', () => {
    const long = `${'a'.repeat(60)}.example.com/name`;
    const { spec, warnings } = one(cronJob({ metadata: { labels: { ok: 'yes', [long]: 'x', source: 'gitops', n: 5 } } }));
    expect(spec.labels).toEqual({ ok: 'yes', n: '5', source: 'cronjob' });
    expect(warnings[0]).toMatch(new RegExp(`labels not kept .*: ${long}, source$`));
  });

  it('converts macros, and reads a CRON_TZ= prefix of the schedule as its time zone (with a warning)', () => {
    expect(one(cronJob({ spec: { schedule: '@weekly' } })).spec.schedule).toEqual({ cron: '0 0 * * 0', timezone: 'UTC' });
    const prefixed = one(cronJob({ spec: { schedule: 'CRON_TZ=Asia/Tokyo 0 9 * * *' } }));
    expect(prefixed.spec.schedule).toEqual({ cron: '0 9 * * *', timezone: 'Asia/Tokyo' });
    expect(prefixed.warnings[0]).toMatch(/use spec.timeZone/);
  });

  it('reads a List\'s items and batch/v1beta1, skipping empty documents', () => {
    const text = `---\n---\n${stringify({ apiVersion: 'v1', kind: 'List', items: [cronJob({ metadata: { name: 'a' } }), cronJob({ metadata: { name: 'b' }, apiVersion: 'batch/v1beta1' })] })}`;
    const result = convertCronJobs(text, { file: 'list.yaml' });
    expect(result.tasks.map((t) => [t.spec.name, t.source])).toEqual([['a', 'list.yaml#2.items[0] (CronJob a)'], ['b', 'list.yaml#2.items[1] (CronJob b)']]);
    expect(result.problems).toEqual([]);
  });
});

describe('convertCronJobs: resources', () => {
  it('parses cpu and memory quantities', () => {
    expect([cpusOf('500m'), cpusOf('2'), cpusOf(2), cpusOf('1.5'), cpusOf('250m')]).toEqual([0.5, 2, 2, 1.5, 0.25]);
    expect([memoryMbOf('128Mi'), memoryMbOf('1Gi'), memoryMbOf('500M'), memoryMbOf('1e9'), memoryMbOf(134217728), memoryMbOf('64Ki')]).toEqual([128, 1024, 477, 954, 128, 1]);
    expect(parseQuantity('1E')).toBe(1e18);
    expect(parseQuantity('1e3')).toBe(1000);
    expect([parseQuantity('lots'), parseQuantity('-1'), parseQuantity('1Mb')]).toEqual([undefined, undefined, undefined]);
  });

  it('warns about requests, other limits, bad quantities and values below the engine\'s minimum', () => {
    const { spec, warnings } = one(cronJob({ container: { resources: { requests: { cpu: '100m' }, limits: { cpu: '5m', memory: '1Mi', 'nvidia.com/gpu': 1 } } } }));
    expect(spec.target.resources).toEqual({ cpus: 0.01, memoryMb: 6 });
    expect(warnings).toEqual([
      expect.stringMatching(/resources.requests are not converted/),
      expect.stringMatching(/resources.limits.nvidia.com\/gpu is not converted/),
      expect.stringMatching(/cpu "5m" is below .*raised to 0.01/),
      expect.stringMatching(/memory "1Mi" is below .*raised to 6/),
    ]);
    const bad = one(cronJob({ container: { resources: { limits: { cpu: 'fast' } } } }));
    expect(bad.spec.target.resources).toBeUndefined();
    expect(bad.warnings[0]).toMatch(/cpu "fast" is not a quantity/);
  });
});

describe('convertCronJobs: what is not converted', () => {
  it('warns, per manifest, about every part a task cannot hold, and still makes the task', () => {
    const { spec, warnings } = one(cronJob({
      spec: { successfulJobsHistoryLimit: 3 },
      job: { parallelism: 2 },
      pod: {
        initContainers: [{ name: 'init', image: 'busybox' }], volumes: [{ name: 'data' }], serviceAccountName: 'reporter', nodeSelector: { disk: 'ssd' },
        imagePullSecrets: [{ name: 'registry' }], containers: [{ name: 'main', image: 'r:1', envFrom: [{ secretRef: { name: 's' } }], volumeMounts: [{ name: 'data', mountPath: '/d' }],
          env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 's', key: 'p' } } }, { name: 'ECRON_RUN_ID', value: 'x' }, { name: 'A', value: '$(B)' }],
          workingDir: 'relative', args: ['$(A)'] }, { name: 'sidecar', image: 'proxy:1' }],
      },
    }));
    expect(spec.target).toEqual({ type: 'container', image: 'r:1', args: ['$(A)'], env: { A: '$(B)' } });
    const expected = [
      /^spec.successfulJobsHistoryLimit is not converted: ecron keeps every run/,
      /^spec.jobTemplate.spec.parallelism is not converted/,
      /^pod spec: initContainers is not converted/,
      /^pod spec: volumes is not converted/,
      /^pod spec: serviceAccountName is not converted/,
      /^pod spec: nodeSelector is not converted/,
      /^pod spec: imagePullSecrets is not converted/,
      /^the pod has 2 containers: only main is converted, not sidecar/,
      /^container main: envFrom is not converted: the variables of a Secret/,
      /^container main: volumeMounts is not converted/,
      /^container main: args has \$\(VAR\) references/,
      /^container main: env PASSWORD is not converted: its value comes from secretKeyRef/,
      /^container main: env "ECRON_RUN_ID" is not converted: ecron sets it/,
      /^container main: env A has \$\(VAR\) references/,
      /^container main: workingDir "relative" is not an absolute path/,
    ];
    expect(warnings).toHaveLength(expected.length);
    expected.forEach((pattern, i) => expect(warnings[i]).toMatch(pattern));
  });

  it('reports a document that is not a CronJob, or not YAML, as an error line and converts the others', () => {
    const text = ['apiVersion: v1\nkind: ConfigMap\nmetadata: { name: cfg, namespace: ops }\n', stringify(cronJob()), 'a: [unclosed\n', '- 1\n', 'apiVersion: batch/v2alpha1\nkind: CronJob\nmetadata: { name: old }\n'].join('---\n');
    const result = convertCronJobs(text, { file: 'mixed.yaml' });
    expect(result.tasks.map((t) => t.spec.name)).toEqual(['report']);
    expect(result.problems).toEqual([
      { severity: 'error', where: 'mixed.yaml#1 (ConfigMap ops/cfg)', message: 'not a CronJob (kind: "ConfigMap"): only CronJobs are imported' },
      { severity: 'error', where: 'mixed.yaml#3', message: expect.stringMatching(/^not valid YAML/) },
      { severity: 'error', where: 'mixed.yaml#4', message: expect.stringMatching(/not a Kubernetes object/) },
      { severity: 'error', where: 'mixed.yaml#5 (CronJob old)', message: 'apiVersion "batch/v2alpha1" is not batch/v1 or batch/v1beta1' },
    ]);
  });

  it('refuses a CronJob whose schedule, time zone, name, container or image cannot be converted', () => {
    expect(errors(cronJob({ spec: { schedule: '0 0 31 2 *' } }))[0]).toMatch(/spec.schedule "0 0 31 2 \*" is invalid: .*never fires/);
    expect(errors(cronJob({ spec: { schedule: '0 0 0 * * *' } }))[0]).toMatch(/a CronJob schedule has 5 fields; got 6/);
    expect(errors(cronJob({ spec: { schedule: '@every 5m' } }))[0]).toMatch(/@every is not converted/);
    expect(errors(cronJob({ spec: { schedule: '@reboot' } }))[0]).toMatch(/unknown macro/);
    expect(errors(cronJob({ spec: { timeZone: 'Mars/Olympus' } }))[0]).toMatch(/unknown time zone "Mars\/Olympus"/);
    expect(errors(cronJob({ metadata: { name: 'Bad Name!' } }))[0]).toMatch(/the converted spec is invalid: name: must be 1-128 characters/);
    expect(errors(cronJob({ pod: { containers: [] } }))[0]).toBe('the pod template has no container');
    expect(errors(cronJob({ container: { image: '' } }))[0]).toBe('container main: image is missing');
    const noName = cronJob();
    delete noName.metadata.name;
    expect(errors(noName)).toEqual(['metadata.name is missing']);
    expect(errors({ apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'x' } })).toEqual(['spec is missing']);
  });
});
