import { afterEach, describe, expect, it } from 'vitest';
import { WorkflowHarness } from '../support/workflow-harness.ts';

/** One test per row of the table in docs/workflows.md ("Semantics"). */
describe('workflow semantics', () => {
  let h: WorkflowHarness;
  afterEach(async () => h?.close());

  const statuses = (nodes: Map<string, { status: string; reason: string | null }>) =>
    Object.fromEntries([...nodes].map(([id, n]) => [id, n.reason ? `${n.status}:${n.reason}` : n.status]));

  it('runs a chain in order, and the workflow run succeeds', async () => {
    h = await new WorkflowHarness().start();
    const wf = await h.createWorkflow('chain', [{ id: 'a' }, { id: 'b', needs: ['a'] }, { id: 'c', needs: ['b'] }]);
    const { run, nodes } = await h.runToEnd(wf.id);
    expect(run.status).toBe('succeeded');
    expect(statuses(nodes)).toEqual({ a: 'succeeded', b: 'succeeded', c: 'succeeded' });
    const order = h.executor.received.filter((r) => r.event === 'run').map((r) => r.body.task);
    expect(order).toEqual(['chain/a', 'chain/b', 'chain/c']);
  });

  it('a failed required predecessor skips its successors as upstream_failed, transitively', async () => {
    h = await new WorkflowHarness().start();
    const wf = await h.createWorkflow('fails', [{ id: 'a', path: '/fail' }, { id: 'b', needs: ['a'] }, { id: 'c', needs: ['b'] }, { id: 'd' }]);
    const { run, nodes } = await h.runToEnd(wf.id);
    expect(run.status).toBe('failed');
    expect(statuses(nodes)).toEqual({ a: 'failed', b: 'skipped:upstream_failed', c: 'skipped:upstream_failed', d: 'succeeded' });
  });

  it('an optional predecessor only orders the work: its failure never blocks', async () => {
    h = await new WorkflowHarness().start();
    const wf = await h.createWorkflow('optional', [{ id: 'a', path: '/fail' }, { id: 'b', needs: [{ node: 'a', optional: true }] }]);
    const { run, nodes } = await h.runToEnd(wf.id);
    expect(statuses(nodes)).toEqual({ a: 'failed', b: 'succeeded' });
    expect(run.status).toBe('failed');
  });

  it('on-failure runs when a required predecessor failed, and is skipped by condition otherwise', async () => {
    h = await new WorkflowHarness().start();
    const bad = await h.createWorkflow('cleanup-runs', [{ id: 'a', path: '/fail' }, { id: 'cleanup', needs: ['a'], run: 'on-failure' }]);
    expect(statuses((await h.runToEnd(bad.id)).nodes)).toEqual({ a: 'failed', cleanup: 'succeeded' });
    const good = await h.createWorkflow('cleanup-skips', [{ id: 'a' }, { id: 'cleanup', needs: ['a'], run: 'on-failure' }, { id: 'after', needs: ['cleanup'] }]);
    const { run, nodes } = await h.runToEnd(good.id);
    expect(statuses(nodes)).toEqual({ a: 'succeeded', cleanup: 'skipped:condition', after: 'skipped:condition' });
    // Skipped by condition is not a failure.
    expect(run.status).toBe('succeeded');
  });

  it('always runs whatever its predecessors did', async () => {
    h = await new WorkflowHarness().start();
    const wf = await h.createWorkflow('always', [{ id: 'a', path: '/fail' }, { id: 'b', needs: ['a'] }, { id: 'report', needs: ['b'], run: 'always' }]);
    const { nodes } = await h.runToEnd(wf.id);
    expect(statuses(nodes)).toEqual({ a: 'failed', b: 'skipped:upstream_failed', report: 'succeeded' });
  });

  it('passes params and upstream outputs through templates, keeping JSON types', async () => {
    h = await new WorkflowHarness().start();
    h.executor.behaviours.set('/extract', () => ({ status: 200, body: { rows: 42, files: ['x.csv'] } }));
    const wf = await h.createWorkflow('etl', [
      { id: 'extract', path: '/extract', params: { date: '{{ params.date }}' } },
      { id: 'load', needs: ['extract'], params: { rows: '{{ nodes.extract.output.rows }}', note: 'got {{ nodes.extract.output.rows }} rows for {{ params.date }}' } },
    ], { params: { date: '2026-12-01' } });
    const { run } = await h.runToEnd(wf.id);
    expect(run.status).toBe('succeeded');
    const load = h.executor.received.find((r) => r.body.task === 'etl/load')!;
    expect(load.body.params).toEqual({ rows: 42, note: 'got 42 rows for 2026-12-01' });
    const extract = h.executor.received.find((r) => r.body.task === 'etl/extract')!;
    expect(extract.body.params).toEqual({ date: '2026-12-01' });
  });
});
