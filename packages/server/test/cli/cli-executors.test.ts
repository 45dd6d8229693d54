import { describe, expect, it } from 'vitest';
import { useApiForCli } from './cli-harness.ts';

/**
 * `ecron executor list` against the real REST API (buildApp over the SQLite store) listening on a
 * local port, with nodes registered through `PUT /api/v1/executors/{id}`.
 */

const api = useApiForCli();
const ecron = api.ecron;

describe('ecron executor list', () => {
  it('says when there are no nodes', async () => {
    const none = await ecron(['executor', 'list']);
    expect(none).toEqual({ code: 0, stdout: '(no executor nodes)\n', stderr: '' });
    expect((await ecron(['executor', 'list', '--group', 'ops'])).stdout).toBe('(no executor nodes in group ops)\n');
  });

  it('prints live nodes first with their labels, load and heartbeat age; --group filters; --json is the API answer', async () => {
    const register = async (id: string, body: Record<string, unknown>) => {
      const res = await api.h.call('PUT', `/api/v1/executors/${id}`, { body });
      expect(res.statusCode).toBe(200);
    };
    await register('billing-2', { group: 'billing', address: 'http://10.0.0.2:9000/ecron', labels: { zone: 'a', tier: 'gold' }, weight: 3, inflight: 5 });
    await register('billing-1', { group: 'billing', address: 'http://10.0.0.1:9000/ecron' });
    await register('ops-1', { group: 'ops', mode: 'pull' });
    await api.h.store.heartbeatExecutor({
      node: { id: 'analytics-1', namespace: 'default', owner: null, group: 'analytics', mode: 'push', transport: 'grpc', address: '10.0.0.9:50051', labels: {}, weight: 1, handlers: [], version: '', inflight: 0 },
      ttlMs: 0,
    });

    const table = await ecron(['executor', 'list']);
    expect(table.stderr).toBe('');
    expect(table.code).toBe(0);
    const [header, ...rows] = table.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID +GROUP +MODE +ADDRESS +LABELS +WEIGHT +INFLIGHT +ALIVE +LAST HEARTBEAT$/);
    expect(rows).toHaveLength(4);
    expect(rows[0]).toMatch(/^billing-1 +billing +push +http:\/\/10\.0\.0\.1:9000\/ecron +- +1 +0 +yes +\d+s ago$/);
    expect(rows[1]).toMatch(/^billing-2 +billing +push +http:\/\/10\.0\.0\.2:9000\/ecron +zone=a,tier=gold +3 +5 +yes +\d+s ago$/);
    expect(rows[2]).toMatch(/^ops-1 +ops +pull +- +- +1 +0 +yes +\d+s ago$/);
    expect(rows[3]).toMatch(/^analytics-1 +analytics +push +10\.0\.0\.9:50051 +- +1 +0 +no +\d+s ago$/);

    const billing = await ecron(['executor', 'list', '--group', 'billing']);
    expect(billing.stdout.trimEnd().split('\n').slice(1).map((row) => row.split(/ +/)[0])).toEqual(['billing-1', 'billing-2']);

    const json = await ecron(['executor', 'list', '--group', 'billing', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual((await api.h.call('GET', '/api/v1/executors?group=billing')).json());
  });
});
