import { describe, expect, it } from 'vitest';
import { useApiForCli } from './cli-harness.ts';

/** `ecron node list` against the real REST API (buildApp over the SQLite store) listening on a local port. */

const api = useApiForCli();
const ecron = api.ecron;

describe('ecron node list', () => {
  it('shows each node\'s tz database version, and marks a live node whose version is not the cluster\'s', async () => {
    const one = await ecron(['node', 'list']);
    expect(one.code).toBe(0);
    const [header, row] = one.stdout.split('\n');
    expect(header).toMatch(/^ID +ADDRESS +ALIVE +TZ +BUCKETS +LEASE EXPIRES +LAST HEARTBEAT$/);
    expect(row!.split(/ +/)[3]).toBe(process.versions.tz);
    expect(one.stdout).not.toContain('tz database differs');

    // Two nodes on another version, older than the scheduler's: they are the majority.
    for (const id of ['node-x', 'node-y']) {
      await api.h.store.heartbeatNode({ node: { id, address: null, roles: ['api', 'scheduler'], version: '0.0.1', tzVersion: '2019a', startedAt: 0 }, ttlMs: 60_000 });
    }
    const three = await ecron(['node', 'list']);
    const lines = three.stdout.split('\n');
    expect(lines.filter((line) => line.includes(`${process.versions.tz}*`))).toHaveLength(1);
    expect(three.stdout).toContain('* tz database differs from the cluster\'s (2019a): the node takes no buckets until it runs the same one');

    const json = JSON.parse((await ecron(['node', 'list', '--json'])).stdout);
    expect(json.clusterTzVersion).toBe('2019a');
    expect(json.items.map((n: { tzVersion: string | null }) => n.tzVersion).sort()).toEqual(['2019a', '2019a', process.versions.tz]);
  });
});
