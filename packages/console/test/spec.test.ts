/** The task form's target fields (routing, containers) to and from the spec's `target` (pure: no browser, no server). */
import i18next from 'i18next';
import { describe, expect, it } from 'vitest';
import { en } from '../src/locales/en.ts';
import { zh } from '../src/locales/zh.ts';
import {
  DEFAULT_FORM, describeTarget, envToSpec, formToSpec, routingToForm, routingToSpec, specToForm, specToText, textToSpec, type FormValues,
} from '../src/spec.ts';

const executorForm = (routing: FormValues['target']['routing']): FormValues => ({
  ...DEFAULT_FORM, name: 'r', kind: 'manual', target: { type: 'executor', group: 'billing', handler: 'report', routing },
});

describe('routing in the task form', () => {
  it('maps each mode to the spec, leaving defaults out', () => {
    expect(routingToSpec({ mode: 'unicast' })).toBeUndefined();
    expect(routingToSpec({ mode: 'broadcast', count: 3, sharding: { total: 4 } })).toEqual({ broadcast: true });
    expect(routingToSpec({ mode: 'multicast', count: 3 })).toEqual({ count: 3 });
    expect(routingToSpec({ mode: 'sharding', sharding: { total: 8 }, count: 3 })).toEqual({ sharding: { total: 8 } });
    expect(routingToSpec({ strategy: 'consistent-hash', hashKey: ' customerId ', selector: ['zone=eu-1', 'expr=a=b'], mode: 'unicast' }))
      .toEqual({ strategy: 'consistent-hash', hashKey: 'customerId', selector: { zone: 'eu-1', expr: 'a=b' } });
    expect(() => routingToSpec({ selector: ['zone'] })).toThrow(/key=value/);
  });

  it('reads a spec back into the same fields (the JSON and YAML views round-trip)', () => {
    for (const routing of [
      { strategy: 'least-busy' }, { broadcast: true }, { count: 2, selector: { tier: 'gold' } },
      { strategy: 'failover', sharding: { total: 16 } }, { strategy: 'consistent-hash', hashKey: 'customerId' },
    ]) {
      const spec = formToSpec(specToForm({ name: 'r', schedule: { manual: true }, target: { type: 'shell', group: 'ops', command: 'backup.sh', routing } }));
      expect(spec.target).toEqual({ type: 'shell', group: 'ops', command: 'backup.sh', routing });
    }
    // A count wins over broadcast in the scheduler, so the form shows it as multicast.
    expect(routingToForm({ broadcast: true, count: 2 })).toMatchObject({ mode: 'multicast', count: 2 });
  });

  it('keeps routing out of http and grpc targets, even when the hidden fields hold some', () => {
    const values = executorForm({ mode: 'sharding', sharding: { total: 4 }, selector: ['bad'] });
    expect(formToSpec({ ...values, target: { ...values.target, type: 'http', url: 'http://127.0.0.1:9/run' } }).target).toEqual({ type: 'http', url: 'http://127.0.0.1:9/run' });
    expect(formToSpec({ ...values, target: { ...values.target, type: 'grpc', url: '10.0.0.8:50051' } }).target).toEqual({ type: 'grpc', url: '10.0.0.8:50051' });
    expect(formToSpec(executorForm({ mode: 'sharding', sharding: { total: 4 } })).target)
      .toEqual({ type: 'executor', group: 'billing', handler: 'report', routing: { sharding: { total: 4 } } });
  });
});

/** A container target with every field, as the API stores it. */
const CONTAINER = {
  type: 'container', image: 'registry.example/team/report:2',
  command: ['sh', '-c', 'echo "a b"\necho done'], args: ['--from', '2026-01-01', '--from', ''],
  env: { LOG_LEVEL: 'debug', GREETING: 'hello, world = hi' }, workingDir: '/work', resources: { cpus: 1.5, memoryMb: 256 },
  pull: 'always', engine: 'podman', group: 'batch', routing: { strategy: 'least-busy', selector: { zone: 'a' }, count: 2 },
};

describe('container targets in the task form', () => {
  const containerSpec = (target: Record<string, unknown>) => ({ name: 'c', schedule: { manual: true }, target });

  it('reads every field into the form and writes the same target back', () => {
    const values = specToForm(containerSpec(CONTAINER));
    expect(values.target).toMatchObject({
      type: 'container', image: CONTAINER.image, containerCommand: CONTAINER.command, args: CONTAINER.args,
      env: [{ name: 'LOG_LEVEL', value: 'debug' }, { name: 'GREETING', value: 'hello, world = hi' }],
      workingDir: '/work', resources: { cpus: 1.5, memoryMb: 256 }, pull: 'always', engine: 'podman', group: 'batch',
      routing: { strategy: 'least-busy', selector: ['zone=a'], mode: 'multicast', count: 2 },
    });
    // The shell target's command field is a string: a container's list never lands in it.
    expect(values.target.command).toBeUndefined();
    expect(formToSpec(values).target).toEqual(CONTAINER);
    // The JSON and YAML views: the same spec, through the text and back.
    for (const format of ['json', 'yaml'] as const) {
      expect(formToSpec(specToForm(textToSpec(specToText(containerSpec(CONTAINER), format), format))).target).toEqual(CONTAINER);
    }
  });

  it('leaves out what is empty: an image alone is a container on the server\'s engine, pulled when missing', () => {
    const values = specToForm(containerSpec({ type: 'container', image: 'busybox:1.37', pull: 'if-missing' }));
    expect(formToSpec(values).target).toEqual({ type: 'container', image: 'busybox:1.37', pull: 'if-missing' });
    // A new task's defaults, switched to container, and rows added but left empty.
    expect(formToSpec({
      ...DEFAULT_FORM, name: 'c', kind: 'manual',
      target: { ...DEFAULT_FORM.target, type: 'container', image: ' busybox ', containerCommand: [], args: [], env: [{ name: '', value: '' }], workingDir: ' ', resources: { cpus: null, memoryMb: null }, group: ' ' },
    }).target).toEqual({ type: 'container', image: 'busybox', pull: 'if-missing' });
  });

  it('sends routing only with a group, and never the other types\' hidden fields', () => {
    const values = specToForm(containerSpec(CONTAINER));
    expect(formToSpec({ ...values, target: { ...values.target, group: '' } }).target).not.toHaveProperty('routing');
    expect(formToSpec({ ...values, target: { ...values.target, group: '' } }).target).not.toHaveProperty('group');
    // From shell to container: the shell command stays behind; and back: the container's fields do.
    const shell = specToForm(containerSpec({ type: 'shell', group: 'ops', command: 'backup.sh' }));
    expect(formToSpec({ ...shell, target: { ...shell.target, type: 'container', image: 'busybox' } }).target)
      .toEqual({ type: 'container', image: 'busybox', pull: 'if-missing', group: 'ops' });
    expect(formToSpec({ ...values, target: { ...values.target, type: 'shell', command: 'backup.sh' } }).target)
      .toEqual({ type: 'shell', group: 'batch', command: 'backup.sh', routing: CONTAINER.routing });
  });

  it('takes the env rows as a record: empty rows dropped, a value without a name refused', () => {
    expect(envToSpec([{ name: ' A ', value: '1' }, { name: '', value: '' }, {}])).toEqual({ A: '1' });
    expect(envToSpec([{ name: 'EMPTY' }])).toEqual({ EMPTY: '' });
    expect(() => envToSpec([{ name: '', value: 'x' }])).toThrow(/name/);
  });

  it('describes each target in a few words, in each language', async () => {
    const translator = (lng: 'en' | 'zh') => i18next.createInstance().init({ lng, resources: { en: { translation: en }, zh: { translation: zh } }, interpolation: { escapeValue: false } });
    const t = await translator('en');
    expect(describeTarget({ type: 'container', image: 'busybox:1.37' }, t)).toBe('container busybox:1.37');
    expect(describeTarget(CONTAINER, t)).toBe('container registry.example/team/report:2 on batch');
    expect(describeTarget({ type: 'shell', group: 'ops', command: 'backup.sh' }, t)).toBe('shell ops/backup.sh');
    expect(describeTarget({ type: 'http', url: 'http://127.0.0.1:9/run' }, t)).toBe('http http://127.0.0.1:9/run');
    expect(describeTarget(undefined, t)).toBe('—');
    expect(describeTarget(CONTAINER, await translator('zh'))).toBe('容器 registry.example/team/report:2，在 batch 组上运行');
  });
});
