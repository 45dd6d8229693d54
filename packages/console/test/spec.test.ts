/** The task form's routing fields to and from the spec's `target.routing` (pure: no browser, no server). */
import { describe, expect, it } from 'vitest';
import { DEFAULT_FORM, formToSpec, routingToForm, routingToSpec, specToForm, type FormValues } from '../src/spec.ts';

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
