/** The namespace form's body for `PUT /api/v1/namespaces/{name}`, and where the API's issues land (pure: no browser, no server). */
import type { NamespaceListItem } from '@ecron/contracts';
import { describe, expect, it } from 'vitest';
import { EMPTY_NAMESPACE_FORM, namespaceBody, namespaceFieldOf, namespaceToForm, type NamespaceFormValues } from '../src/namespace-form.ts';

const stored: NamespaceListItem = {
  name: 'data', description: 'the data team', labels: { team: 'data', tier: 'gold' },
  quotas: { maxConcurrentRuns: 50, maxFiresPerMinute: null, minIntervalMs: 1000, maxTasks: 500, maxWorkflows: null, allowedTargetTypes: ['http', 'executor'], groupMaxConcurrentRuns: { billing: 20, reports: 5 }, containerImages: null },
  outbound: { allow: ['10.20.0.0/16'], deny: [] }, implicit: false, createdAt: '2026-12-08T10:00:00.000Z', updatedAt: '2026-12-08T10:00:00.000Z',
};

const form = (values: Partial<NamespaceFormValues>): NamespaceFormValues => ({ ...EMPTY_NAMESPACE_FORM, ...values });

describe('the namespace form', () => {
  it('creates with what was filled in, and no more', () => {
    expect(namespaceBody(form({ name: 'team-a' }))).toEqual({});
    expect(namespaceBody(form({
      name: 'team-a', description: ' jobs ', labels: ['team=a'],
      quotas: { maxConcurrentRuns: 50, maxTasks: null, minIntervalMs: '500ms', allowedTargetTypes: [] },
      outbound: { allow: [], deny: [' 10.99.0.0/16 ', ''] },
    }))).toEqual({
      description: 'jobs', labels: { team: 'a' }, quotas: { maxConcurrentRuns: 50, minIntervalMs: '500ms' }, outbound: { deny: ['10.99.0.0/16'] },
    });
  });

  it('edits by sending only the fields that changed; an emptied quota goes back to its default (null)', () => {
    const values = namespaceToForm(stored);
    expect(values.quotas.minIntervalMs).toBe('1s');
    expect(namespaceBody(values, stored)).toEqual({});
    // The same labels in another order, the same types in another order: unchanged.
    expect(namespaceBody({ ...values, labels: ['tier=gold', 'team=data'], quotas: { ...values.quotas, allowedTargetTypes: ['executor', 'http'] } }, stored)).toEqual({});
    expect(namespaceBody({
      ...values, quotas: { ...values.quotas, maxConcurrentRuns: null, maxFiresPerMinute: 600, minIntervalMs: '2000', allowedTargetTypes: [] },
      outbound: { allow: ['10.20.0.0/16', '*.data.example.com'], deny: [] },
    }, stored)).toEqual({
      quotas: { maxConcurrentRuns: null, maxFiresPerMinute: 600, minIntervalMs: 2000, allowedTargetTypes: null },
      outbound: { allow: ['10.20.0.0/16', '*.data.example.com'] },
    });
    expect(namespaceBody({ ...values, description: '', labels: [], quotas: { ...values.quotas, minIntervalMs: '' } }, stored))
      .toEqual({ description: '', labels: {}, quotas: { minIntervalMs: null } });
    expect(() => namespaceBody({ ...values, labels: ['team'] }, stored)).toThrow(/key=value/);
  });

  it('edits the group limits as group=N entries, sent whole when they change, null when emptied', () => {
    const values = namespaceToForm(stored);
    expect(values.quotas.groupMaxConcurrentRuns).toEqual(['billing=20', 'reports=5']);
    expect(namespaceBody({ ...values, quotas: { ...values.quotas, groupMaxConcurrentRuns: ['reports=5', 'billing=20'] } }, stored)).toEqual({});
    expect(namespaceBody({ ...values, quotas: { ...values.quotas, groupMaxConcurrentRuns: ['billing=10', 'reports=5'] } }, stored))
      .toEqual({ quotas: { groupMaxConcurrentRuns: { billing: 10, reports: 5 } } });
    expect(namespaceBody({ ...values, quotas: { ...values.quotas, groupMaxConcurrentRuns: [] } }, stored)).toEqual({ quotas: { groupMaxConcurrentRuns: null } });
    expect(namespaceBody(form({ name: 'n', quotas: { allowedTargetTypes: [], groupMaxConcurrentRuns: ['billing = 3'] } }))).toEqual({ quotas: { groupMaxConcurrentRuns: { billing: 3 } } });
    expect(() => namespaceBody({ ...values, quotas: { ...values.quotas, groupMaxConcurrentRuns: ['billing'] } }, stored)).toThrow(/group=N/);
    expect(namespaceFieldOf('quotas.groupMaxConcurrentRuns.billing')).toEqual(['quotas', 'groupMaxConcurrentRuns']);
  });

  it('edits the container image allowlist as a list of patterns, sent when it changes, null when emptied', () => {
    const withImages: NamespaceListItem = { ...stored, quotas: { ...stored.quotas, containerImages: ['registry.example/team/**', 'busybox:*'] } };
    const values = namespaceToForm(withImages);
    expect(values.quotas.containerImages).toEqual(['registry.example/team/**', 'busybox:*']);
    expect(namespaceBody(values, withImages)).toEqual({});
    // An allowlist: the same patterns in another order are unchanged.
    expect(namespaceBody({ ...values, quotas: { ...values.quotas, containerImages: ['busybox:*', 'registry.example/team/**'] } }, withImages)).toEqual({});
    expect(namespaceBody({ ...values, quotas: { ...values.quotas, containerImages: ['busybox:*', ' alpine:3 ', ''] } }, withImages))
      .toEqual({ quotas: { containerImages: ['busybox:*', 'alpine:3'] } });
    expect(namespaceBody({ ...values, quotas: { ...values.quotas, containerImages: [] } }, withImages)).toEqual({ quotas: { containerImages: null } });
    // Any image (null) shows as an empty list, and an empty list sends nothing.
    expect(namespaceToForm(stored).quotas.containerImages).toEqual([]);
    expect(namespaceBody(namespaceToForm(stored), stored)).toEqual({});
    expect(namespaceBody({ ...namespaceToForm(stored), quotas: { ...namespaceToForm(stored).quotas, containerImages: ['busybox:*'] } }, stored))
      .toEqual({ quotas: { containerImages: ['busybox:*'] } });
    expect(namespaceBody(form({ name: 'n', quotas: { allowedTargetTypes: ['container'], containerImages: ['busybox:*'] } })))
      .toEqual({ quotas: { allowedTargetTypes: ['container'], containerImages: ['busybox:*'] } });
    expect(namespaceBody(form({ name: 'n', quotas: { allowedTargetTypes: [], containerImages: [] } }))).toEqual({});
    expect(namespaceFieldOf('quotas.containerImages[1]')).toEqual(['quotas', 'containerImages']);
  });

  it('puts each API issue on its field', () => {
    expect(namespaceFieldOf('outbound.allow[1]')).toEqual(['outbound', 'allow']);
    expect(namespaceFieldOf('outbound.deny[0]')).toEqual(['outbound', 'deny']);
    expect(namespaceFieldOf('quotas.minIntervalMs')).toEqual(['quotas', 'minIntervalMs']);
    expect(namespaceFieldOf('quotas.allowedTargetTypes[2]')).toEqual(['quotas', 'allowedTargetTypes']);
    expect(namespaceFieldOf('labels["a b"]')).toEqual(['labels']);
    expect(namespaceFieldOf('params.name')).toEqual(['name']);
    expect(namespaceFieldOf('quotas.unknown')).toBeNull();
    expect(namespaceFieldOf('')).toBeNull();
  });
});
