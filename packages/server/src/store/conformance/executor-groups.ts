/**
 * Conformance of executor group discovery storage: a put creates, then replaces the whole group
 * keeping its creation instant; listing is by (namespace, group) and follows a caller's scope;
 * deletes answer whether there was a group; every write is audited; concurrent creates of one
 * group both succeed, one of them as the creation.
 */
import { describe, expect, it } from 'vitest';
import { ExecutorGroupSpecSchema, type ExecutorGroupSpecInput } from '@ecron/contracts';
import type { Store } from '../store.ts';
import { audit, T0 } from './fixtures.ts';

const spec = (input: ExecutorGroupSpecInput) => ExecutorGroupSpecSchema.parse(input);

export function describeExecutorGroups(ctx: { readonly store: Store }): void {
  describe('executor groups (discovery)', () => {
    const put = (namespace: string, group: string, input: ExecutorGroupSpecInput, at = T0) => ctx.store.putExecutorGroup({
      group: { namespace, group, ...spec(input) }, at, audit: audit('executor-group.put', { namespace, group }),
    });

    it('creates a group, then replaces it whole, keeping createdAt', async () => {
      const first = await put('default', 'billing', { discovery: { static: ['http://10.0.0.5:9000', 'https://[fd00::1]:9443/run'] }, labels: { zone: 'a' } });
      expect(first.created).toBe(true);
      expect(first.record).toEqual({
        namespace: 'default', group: 'billing', discovery: { static: ['http://10.0.0.5:9000', 'https://[fd00::1]:9443/run'] },
        labels: { zone: 'a' }, weight: 1, createdAt: T0, updatedAt: T0,
      });
      expect(await ctx.store.getExecutorGroup({ namespace: 'default', group: 'billing' })).toEqual(first.record);

      const second = await put('default', 'billing', { discovery: { dns: { name: 'workers.svc.local', port: 9000 } }, weight: 5 }, T0 + 10);
      expect(second.created).toBe(false);
      expect(second.record).toEqual({
        namespace: 'default', group: 'billing',
        discovery: { dns: { name: 'workers.svc.local', port: 9000, scheme: 'http', path: '/', srv: false, refreshMs: 30_000, staleMs: 300_000 } },
        labels: {}, weight: 5, createdAt: T0, updatedAt: T0 + 10,
      });
      expect(await ctx.store.getExecutorGroup({ namespace: 'default', group: 'billing' })).toEqual(second.record);
      expect(await ctx.store.getExecutorGroup({ namespace: 'other', group: 'billing' })).toBeNull();

      const entries = (await ctx.store.listAudit({ limit: 10, resourceId: 'default/billing' })).items;
      expect(entries.map((e) => [e.action, e.resourceType, e.at])).toEqual([
        ['executor-group.put', 'executor-group', T0 + 10], ['executor-group.put', 'executor-group', T0],
      ]);
    });

    it('lists by namespace then group, within a scope, and deletes once', async () => {
      await put('team-b', 'a', { discovery: { static: ['http://10.0.0.1:1'] } });
      await put('team-a', 'z', { discovery: { static: ['http://10.0.0.2:1'] } });
      await put('team-a', 'B', { discovery: { dns: { name: 'x.local', srv: true } } });
      const names = (list: { namespace: string; group: string }[]) => list.map((g) => `${g.namespace}/${g.group}`);
      expect(names(await ctx.store.listExecutorGroups())).toEqual(['team-a/B', 'team-a/z', 'team-b/a']);
      expect(names(await ctx.store.listExecutorGroups({ namespaces: ['team-b'] }))).toEqual(['team-b/a']);
      expect(names(await ctx.store.listExecutorGroups({ namespaces: ['*'], namespace: 'team-a' }))).toEqual(['team-a/B', 'team-a/z']);
      expect(names(await ctx.store.listExecutorGroups({ namespaces: ['team-b'], namespace: 'team-a' }))).toEqual([]);
      expect(names(await ctx.store.listExecutorGroups({ namespaces: [] }))).toEqual([]);

      expect(await ctx.store.deleteExecutorGroup({ namespace: 'team-a', group: 'z', at: T0 + 5, audit: audit('executor-group.delete') })).toBe(true);
      expect(await ctx.store.deleteExecutorGroup({ namespace: 'team-a', group: 'z', at: T0 + 6, audit: audit('executor-group.delete') })).toBe(false);
      expect(names(await ctx.store.listExecutorGroups())).toEqual(['team-a/B', 'team-b/a']);
      const entries = (await ctx.store.listAudit({ limit: 10, resourceId: 'team-a/z' })).items;
      expect(entries.map((e) => e.action)).toEqual(['executor-group.delete', 'executor-group.put']);
    });

    it('takes concurrent creates of one group: both succeed, one creates', async () => {
      const results = await Promise.all(['http://10.0.0.1:1', 'http://10.0.0.2:2', 'http://10.0.0.3:3']
        .map((url, i) => put('race', 'g', { discovery: { static: [url] } }, T0 + i)));
      expect(results.filter((r) => r.created)).toHaveLength(1);
      const stored = await ctx.store.getExecutorGroup({ namespace: 'race', group: 'g' });
      expect(results.map((r) => r.record)).toContainEqual(stored);
      expect((await ctx.store.listAudit({ limit: 10, resourceId: 'race/g' })).items).toHaveLength(3);
    });
  });
}
