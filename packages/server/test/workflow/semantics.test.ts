import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN } from '../support/scheduler-harness.ts';
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

  // The table of docs/workflows.md: each row (the required predecessors) × each condition.
  const rows: { row: string; preds: { id: string; path?: string; run?: 'on-failure' }[] }[] = [
    { row: 'none', preds: [] },
    { row: 'all succeeded', preds: [{ id: 'p1' }, { id: 'p2' }] },
    { row: 'one ended badly', preds: [{ id: 'p1' }, { id: 'p2', path: '/fail' }] },
    { row: 'none ended badly, one skipped by condition', preds: [{ id: 'p1' }, { id: 'p2', run: 'on-failure' }] },
  ];
  const expected: Record<string, Record<'on-success' | 'always' | 'on-failure', string>> = {
    'none': { 'on-success': 'succeeded', always: 'succeeded', 'on-failure': 'skipped:condition' },
    'all succeeded': { 'on-success': 'succeeded', always: 'succeeded', 'on-failure': 'skipped:condition' },
    'one ended badly': { 'on-success': 'skipped:upstream_failed', always: 'succeeded', 'on-failure': 'succeeded' },
    'none ended badly, one skipped by condition': { 'on-success': 'skipped:condition', always: 'succeeded', 'on-failure': 'skipped:condition' },
  };
  for (const { row, preds } of rows) {
    for (const run of ['on-success', 'always', 'on-failure'] as const) {
      it(`table: required predecessors "${row}", run ${run}`, async () => {
        h = await new WorkflowHarness().start();
        // An optional predecessor that fails beside them changes nothing.
        const wf = await h.createWorkflow(`t-${run}`, [
          ...preds.map((p) => ({ id: p.id, ...(p.path ? { path: p.path } : {}), ...(p.run ? { run: p.run, needs: [{ node: 'opt', optional: false }] } : {}) })),
          { id: 'opt', path: row === 'none' ? '/fail' : '/ok' },
          { id: 'n', run, needs: [...preds.map((p) => p.id), ...(row === 'none' ? [{ node: 'opt', optional: true }] : [])] },
        ]);
        const { nodes } = await h.runToEnd(wf.id);
        expect(statuses(nodes).n).toBe(expected[row]![run]);
      });
    }
  }

  it('a failed node fails its workflow run even when an on-failure node handled it', async () => {
    h = await new WorkflowHarness().start();
    const wf = await h.createWorkflow('handled', [{ id: 'a', path: '/fail' }, { id: 'cleanup', needs: ['a'], run: 'on-failure' }]);
    const { run, nodes } = await h.runToEnd(wf.id);
    expect(statuses(nodes)).toEqual({ a: 'failed', cleanup: 'succeeded' });
    expect(run.status).toBe('failed');
  });

  it('a workflow run executes the revision it was fired with; an update applies from the next run', async () => {
    h = await new WorkflowHarness().start();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    h.executor.behaviours.set('/gate', async () => { await gate; return { status: 200, body: {} }; });
    const wf = await h.createWorkflow('revisions', [{ id: 'a', path: '/gate' }, { id: 'b', needs: ['a'] }]);
    const { run } = await h.workflows.trigger(ADMIN, wf.id);
    await h.executor.next((r) => r.body.task === 'revisions/a');
    await h.workflows.update(ADMIN, wf.id, { ...wf.spec, nodes: [...wf.spec.nodes, { id: 'c', needs: ['b'], target: { type: 'http', url: `${h.executorUrl}/ok` } }] });
    release();
    const first = await h.finished(run.id);
    expect([...first.nodes.keys()]).toEqual(['a', 'b']);
    expect(first.run.taskRevision).toBe(1);
    const second = await h.runToEnd(wf.id);
    expect([...second.nodes.keys()]).toEqual(['a', 'b', 'c']);
  });

  it('runs a task node as a run of that task, with the task params merged under the node params', async () => {
    h = await new WorkflowHarness().start();
    const task = await h.createTask({ name: 'report', schedule: { manual: true }, params: { format: 'pdf', day: 'default' } }, '/ok');
    const wf = await h.createWorkflow('uses-task', [{ id: 'r', task: 'report', params: { day: '{{ params.day }}' } }], { params: { day: 'mon' } });
    const { run, nodes } = await h.runToEnd(wf.id);
    expect(run.status).toBe('succeeded');
    const nodeRun = (await h.store.getRun(nodes.get('r')!.runId!))!;
    expect(nodeRun).toMatchObject({ taskId: task.id, taskName: 'report', workflowRunId: run.id, nodeId: 'r', params: { format: 'pdf', day: 'mon' } });
  });
});
