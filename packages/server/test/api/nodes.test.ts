/** `GET /api/v1/nodes`: each scheduler node with its tz database version, and the cluster's. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiHarness } from './api-harness.ts';

let h: ApiHarness;
beforeEach(async () => {
  h = await new ApiHarness().start();
});
afterEach(async () => h.close());

describe('GET /api/v1/nodes', () => {
  it('reports each node\'s tz database version (process.versions.tz) and the cluster\'s', async () => {
    const res = await h.call('GET', '/api/v1/nodes');
    expect(res.statusCode).toBe(200);
    const list = res.json();
    expect(list.items).toHaveLength(1);
    expect(list.items[0]).toMatchObject({ alive: true, tzVersion: process.versions.tz });
    expect(list.clusterTzVersion).toBe(process.versions.tz);

    // A second node on another version, registered as an older release would be (no version).
    await h.store.heartbeatNode({ node: { id: 'zz-older', address: null, roles: ['api', 'scheduler'], version: '0.0.1', tzVersion: null, startedAt: 0 }, ttlMs: 60_000 });
    const both = (await h.call('GET', '/api/v1/nodes')).json();
    expect(both.items.map((n: { id: string; tzVersion: string | null }) => n.tzVersion)).toEqual([process.versions.tz, null]);
    expect(both.clusterTzVersion).toBe(process.versions.tz);
  });

  it('documents tzVersion and clusterTzVersion in /openapi.json', async () => {
    const doc = (await h.call('GET', '/openapi.json', { token: null })).json();
    const schema = doc.paths['/api/v1/nodes'].get.responses['200'].content['application/json'].schema;
    expect(schema.properties.clusterTzVersion.description).toContain('tz version');
    expect(schema.properties.items.items.properties.tzVersion.description).toContain('process.versions.tz');
  });
});
