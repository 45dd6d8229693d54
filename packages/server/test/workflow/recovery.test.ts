import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN } from '../support/scheduler-harness.ts';
import { WorkflowHarness } from '../support/workflow-harness.ts';

const sha = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex');

describe('workflow recovery', () => {
  let h: WorkflowHarness;
  afterEach(async () => h?.close());

  it('reruns from the failed node while another branch is still running: only it and its descendants run again, with the same upstream outputs', async () => {
    h = await new WorkflowHarness().start();
    h.executor.behaviours.set('/up', () => ({ status: 200, body: { rows: 42, nested: { list: [1, 'two', null], text: 'ünïcødé "quoted"' } } }));
    let flaky = 0;
    h.executor.behaviours.set('/flaky', () => (++flaky === 1 ? { status: 500, body: 'first time fails' } : { status: 200, body: { fixed: true } }));
    let release!: () => void;
    const released = new Promise<void>((resolve) => { release = resolve; });
    h.executor.behaviours.set('/slow', async () => {
      await released;
      return { status: 200, body: { slow: 'done' } };
    });
    const wf = await h.createWorkflow('recover', [
      { id: 'up', path: '/up' },
      { id: 'flaky', path: '/flaky', needs: ['up'], params: { upstream: '{{ nodes.up.output }}' } },
      { id: 'down', needs: ['flaky'], params: { upstream: '{{ nodes.up.output }}', fixed: '{{ nodes.flaky.output.fixed }}' } },
      { id: 'slow', path: '/slow' },
      { id: 'after-slow', needs: ['slow'] },
    ]);
    const { run } = await h.workflows.trigger(ADMIN, wf.id);
    // Wait until flaky failed (down skipped) while slow is still running.
    for (let i = 0; i < 500; i++) {
      const nodes = await h.store.listWorkflowNodes(run.id);
      if (nodes.find((n) => n.nodeId === 'down')?.status === 'skipped') break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const before = new Map((await h.store.listWorkflowNodes(run.id)).map((n) => [n.nodeId, n]));
    expect(before.get('flaky')!.status).toBe('failed');
    expect(before.get('down')).toMatchObject({ status: 'skipped', reason: 'upstream_failed' });
    expect(before.get('slow')!.status).toBe('running');
    expect((await h.store.getRun(run.id))!.status).toBe('running');

    const rerun = await h.workflows.recover(ADMIN, run.id, { kind: 'rerun-failed' });
    expect(rerun.nodes.find((n) => n.nodeId === 'flaky')).toMatchObject({ status: 'running', attempts: 2 });
    release();
    const { run: ended, nodes } = await h.finished(run.id);
    expect(ended.status).toBe('succeeded');
    expect([...nodes.values()].map((n) => [n.nodeId, n.status, n.attempts])).toEqual([
      ['up', 'succeeded', 1], ['flaky', 'succeeded', 2], ['down', 'succeeded', 1], ['slow', 'succeeded', 1], ['after-slow', 'succeeded', 1],
    ]);
    // up ran once; its output reached the rerun nodes byte for byte.
    const requests = h.executor.received.filter((r) => r.event === 'run');
    expect(requests.filter((r) => r.body.task === 'recover/up')).toHaveLength(1);
    expect(requests.filter((r) => r.body.task === 'recover/slow')).toHaveLength(1);
    const upOutput = (await h.store.getRun(nodes.get('up')!.runId!))!.output;
    const flakyRequests = requests.filter((r) => r.body.task === 'recover/flaky');
    expect(flakyRequests).toHaveLength(2);
    expect(flakyRequests.map((r) => sha(r.body.params.upstream))).toEqual([sha(upOutput), sha(upOutput)]);
    const down = requests.find((r) => r.body.task === 'recover/down')!;
    expect(sha(down.body.params.upstream)).toBe(sha(upOutput));
    expect(down.body.params.fixed).toBe(true);
    const audit = await h.store.listAudit({ limit: 10, action: 'workflow_run.rerun_failed' });
    expect(audit.items.map((e) => e.resourceId)).toEqual([run.id]);
  });

  it('reopens a finished workflow run on rerun from failed, and refuses when nothing failed', async () => {
    h = await new WorkflowHarness().start();
    let calls = 0;
    h.executor.behaviours.set('/once-bad', () => (++calls === 1 ? { status: 500 } : { status: 200, body: { ok: 1 } }));
    const wf = await h.createWorkflow('reopen', [{ id: 'a', path: '/once-bad' }, { id: 'b', needs: ['a'] }]);
    const first = await h.runToEnd(wf.id);
    expect(first.run.status).toBe('failed');
    const ended = h.next('run:ended', (r) => r.id === first.run.id);
    await h.workflows.recover(ADMIN, first.run.id, { kind: 'rerun-failed' });
    expect((await ended).status).toBe('succeeded');
    await expect(h.workflows.recover(ADMIN, first.run.id, { kind: 'rerun-failed' })).rejects.toMatchObject({ code: 'WORKFLOW_NOTHING_TO_RERUN' });
  });

  it('marks a failed node succeeded with an output its successors read, or skips one so that the rest goes on', async () => {
    h = await new WorkflowHarness().start();
    const wf = await h.createWorkflow('manual-fix', [
      { id: 'a', path: '/fail' }, { id: 'b', needs: ['a'], params: { from: '{{ nodes.a.output.value }}' } },
      { id: 'c', path: '/fail' }, { id: 'd', needs: ['c'] },
    ]);
    const first = await h.runToEnd(wf.id);
    expect(first.run.status).toBe('failed');
    await h.workflows.recover(ADMIN, first.run.id, { kind: 'succeed-node', nodeId: 'a', output: { value: 'by hand' } });
    const ended = h.next('run:ended', (r) => r.id === first.run.id);
    await h.workflows.recover(ADMIN, first.run.id, { kind: 'skip-node', nodeId: 'c' });
    expect((await ended).status).toBe('succeeded');
    const nodes = new Map((await h.store.listWorkflowNodes(first.run.id)).map((n) => [n.nodeId, n]));
    expect(nodes.get('a')).toMatchObject({ status: 'succeeded', output: { value: 'by hand' }, runId: null });
    expect(nodes.get('c')).toMatchObject({ status: 'skipped', reason: 'manual' });
    expect(nodes.get('d')!.status).toBe('succeeded');
    const b = h.executor.received.find((r) => r.body.task === 'manual-fix/b')!;
    expect(b.body.params).toEqual({ from: 'by hand' });
  });

  it('marking a node by hand decides again only its skipped successors: one that ran keeps its result', async () => {
    h = await new WorkflowHarness().start();
    const wf = await h.createWorkflow('keep', [{ id: 'a', path: '/fail' }, { id: 'b', needs: [{ node: 'a', optional: true }] }, { id: 'c', needs: ['a'] }]);
    const first = await h.runToEnd(wf.id);
    expect(first.nodes.get('b')!.status).toBe('succeeded');
    expect(first.nodes.get('c')).toMatchObject({ status: 'skipped', reason: 'upstream_failed' });
    const ended = h.next('run:ended', (r) => r.id === first.run.id);
    await h.workflows.recover(ADMIN, first.run.id, { kind: 'succeed-node', nodeId: 'a', output: null });
    expect((await ended).status).toBe('succeeded');
    const nodes = new Map((await h.store.listWorkflowNodes(first.run.id)).map((n) => [n.nodeId, n]));
    expect(nodes.get('b')).toMatchObject({ status: 'succeeded', attempts: 1, runId: first.nodes.get('b')!.runId });
    expect(nodes.get('c')).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(h.executor.received.filter((r) => r.body.task === 'keep/b')).toHaveLength(1);
  });

  it('cancelling a workflow run cancels its running nodes and skips the rest', async () => {
    h = await new WorkflowHarness().start();
    h.executor.behaviours.set('/hang', (_req, signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve({ status: 500 }))));
    const wf = await h.createWorkflow('cancel-me', [{ id: 'a', path: '/hang' }, { id: 'b', needs: ['a'] }]);
    const { run } = await h.workflows.trigger(ADMIN, wf.id);
    await h.executor.next((r) => r.body.task === 'cancel-me/a');
    const cancelled = await h.workflows.cancelRun(ADMIN, run.id);
    expect(cancelled.run.status).toBe('cancelled');
    const { nodes } = await h.finished(run.id);
    expect(nodes.get('b')).toMatchObject({ status: 'skipped', reason: 'cancelled' });
    const aRun = nodes.get('a')!.runId!;
    const a = (await h.store.getRun(aRun))!.finishedAt !== null ? (await h.store.getRun(aRun))! : await h.ended(aRun);
    expect(a.status).toBe('cancelled');
    expect((await h.store.listWorkflowNodes(run.id)).find((n) => n.nodeId === 'a')!.status).toBe('cancelled');
  });

  it('a workflow timeout ends the run as failed: running nodes cancelled, the rest skipped', async () => {
    h = await new WorkflowHarness().start();
    h.executor.behaviours.set('/hang', (_req, signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve({ status: 500 }))));
    const wf = await h.createWorkflow('too-slow', [{ id: 'a', path: '/hang' }, { id: 'b', needs: ['a'] }], { timeoutMs: '30s' });
    const { run } = await h.workflows.trigger(ADMIN, wf.id);
    await h.executor.next((r) => r.body.task === 'too-slow/a');
    const ended = h.next('run:ended', (r) => r.id === run.id);
    await h.clock.advance(30_000);
    const done = await ended;
    expect(done).toMatchObject({ status: 'failed', error: 'the workflow run timed out' });
    const nodes = new Map((await h.store.listWorkflowNodes(run.id)).map((n) => [n.nodeId, n]));
    expect(nodes.get('b')).toMatchObject({ status: 'skipped', reason: 'cancelled' });
    await h.ended(nodes.get('a')!.runId!);
  });

  it('a workflow run survives a crash of its scheduler: adopted, it goes on and no node runs twice', async () => {
    h = await new WorkflowHarness().start();
    let release!: () => void;
    const released = new Promise<void>((resolve) => { release = resolve; });
    h.executor.behaviours.set('/gate', async () => {
      await released;
      return { status: 200, body: { gate: 1 } };
    });
    const wf = await h.createWorkflow('crash', [{ id: 'a', path: '/gate' }, { id: 'b', needs: ['a'] }, { id: 'c', needs: ['b'] }]);
    const { run } = await h.workflows.trigger(ADMIN, wf.id);
    await h.executor.next((r) => r.body.task === 'crash/a');
    // The scheduler dies while a runs; a finishes meanwhile, which its executor tells the next one.
    const aRun = (await h.store.listWorkflowNodes(run.id))[0]!.runId!;
    h.executor.statusReplies.set(aRun, { status: 'succeeded', output: { gate: 1 } });
    await h.crashAndRestart();
    release();
    const { run: ended, nodes } = await h.finished(run.id, 20_000);
    expect(ended.status).toBe('succeeded');
    expect([...nodes.values()].map((n) => [n.nodeId, n.status, n.attempts])).toEqual([['a', 'succeeded', 1], ['b', 'succeeded', 1], ['c', 'succeeded', 1]]);
    const requests = h.executor.received.filter((r) => r.event === 'run');
    expect(requests.filter((r) => r.body.task === 'crash/b')).toHaveLength(1);
    expect(requests.filter((r) => r.body.task === 'crash/c')).toHaveLength(1);
  });

  it('deleting a workflow cancels its runs in progress: running nodes cancelled, the rest skipped', async () => {
    h = await new WorkflowHarness().start();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    h.executor.behaviours.set('/gate', async (_req, signal) => {
      await Promise.race([gate, new Promise((resolve) => signal.addEventListener('abort', resolve))]);
      return { status: 200, body: {} };
    });
    const wf = await h.createWorkflow('deleted', [{ id: 'a', path: '/gate' }, { id: 'b', needs: ['a'] }]);
    const { run } = await h.workflows.trigger(ADMIN, wf.id);
    await h.executor.next((r) => r.body.task === 'deleted/a');
    const ended = h.next('run:ended', (r) => r.id === run.id);
    await h.workflows.delete(ADMIN, wf.id);
    expect(await ended).toMatchObject({ status: 'cancelled', error: 'the workflow was deleted' });
    release();
    await h.ended((await h.store.listWorkflowNodes(run.id))[0]!.runId!);
    const nodes = new Map((await h.store.listWorkflowNodes(run.id)).map((n) => [n.nodeId, n]));
    expect(nodes.get('a')!.status).toBe('cancelled');
    expect(nodes.get('b')).toMatchObject({ status: 'skipped', reason: 'cancelled' });
    expect(h.executor.received.filter((r) => r.body.task === 'deleted/b')).toHaveLength(0);
  });
});
