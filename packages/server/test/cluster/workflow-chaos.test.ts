/**
 * Workflows under failure, with real processes: a 3-node cluster on PostgreSQL runs 50 workflow
 * runs of a 30-node DAG (required and optional edges, on-failure and always nodes, two nodes that
 * always fail) while a node is SIGKILLed every 10 s and started again. Every workflow run ends;
 * every node ran exactly once (one node run) or was skipped, exactly as the semantics table of
 * docs/workflows.md says, computed here independently of the server's planner.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterHarness } from './cluster-harness.ts';

interface SketchNode { id: string; needs: { node: string; optional: boolean }[]; run: 'on-success' | 'always' | 'on-failure'; fails: boolean }

/** 6 levels of 5 nodes; each node past the first level needs 1–2 nodes of the level above, some optionally. */
function sketch(start: number): SketchNode[] {
  let seed = start;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  const nodes: SketchNode[] = [];
  for (let level = 0; level < 6; level += 1) {
    for (let i = 0; i < 5; i += 1) {
      const id = `n${level}_${i}`;
      const needs: SketchNode['needs'] = [];
      if (level > 0) {
        const count = 1 + Math.floor(random() * 2);
        for (let k = 0; k < count; k += 1) {
          const node = `n${level - 1}_${Math.floor(random() * 5)}`;
          if (!needs.some((n) => n.node === node)) needs.push({ node, optional: random() < 0.25 });
        }
      }
      const run = level > 1 && i === 4 ? 'on-failure' : level > 1 && i === 3 ? 'always' : 'on-success';
      nodes.push({ id, needs, run, fails: id === 'n1_2' || id === 'n3_0' });
    }
  }
  return nodes;
}

/** The semantics table, written again from the docs (not from the server's code). */
function expectedStatuses(nodes: SketchNode[]): { nodes: Map<string, string>; workflow: 'succeeded' | 'failed' } {
  const out = new Map<string, string>();
  const bad = (s: string) => s === 'failed' || s === 'skipped:upstream_failed';
  for (const node of nodes) {
    const required = node.needs.filter((n) => !n.optional).map((n) => out.get(n.node)!);
    const anyBad = required.some(bad);
    const anyCondition = required.some((s) => s === 'skipped:condition');
    let status: string;
    if (node.run === 'always') status = 'ran';
    else if (node.run === 'on-failure') status = anyBad ? 'ran' : 'skipped:condition';
    else status = anyBad ? 'skipped:upstream_failed' : anyCondition ? 'skipped:condition' : 'ran';
    out.set(node.id, status === 'ran' ? (node.fails ? 'failed' : 'succeeded') : status);
  }
  const workflow = [...out.values()].every((s) => s === 'succeeded' || s === 'skipped:condition') ? 'succeeded' : 'failed';
  return { nodes: out, workflow };
}

describe('workflows on a cluster under SIGKILL', () => {
  let cluster: ClusterHarness;
  afterEach(async () => cluster?.stop());

  it('runs 50 workflow runs of a 30-node DAG to their end while a node is killed every 10 s: each node once, or skipped as the table says', async () => {
    cluster = await new ClusterHarness('postgres').start(3);
    cluster.executor.behaviours.set('/ok', async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return { status: 200, body: { ok: true } };
    });
    cluster.executor.behaviours.set('/fail', () => ({ status: 500, body: { error: 'this node always fails' } }));
    // The first graph (by seed) whose runs show every outcome of the table.
    let seed = 1;
    while (new Set(expectedStatuses(sketch(seed)).nodes.values()).size < 4) seed += 1;
    const nodes = sketch(seed);
    const expected = expectedStatuses(nodes);
    expect(new Set(expected.nodes.values())).toEqual(new Set(['succeeded', 'failed', 'skipped:upstream_failed', 'skipped:condition']));
    const live = () => cluster.nodes.find((n) => n.child)!;
    const created = await cluster.api(live(), 'POST', '/api/v1/workflows', {
      name: 'chaos-dag',
      nodes: nodes.map((n) => ({
        id: n.id, needs: n.needs, run: n.run,
        // Retried, with a deadline: an attempt left in flight by a killed node is sent again or times out, never lost.
        target: { type: 'http', url: `${cluster.executorUrl}${n.fails ? '/fail' : '/ok'}` }, timeoutMs: '3s',
        retry: { maxAttempts: 3, backoff: { type: 'fixed', initialMs: 200 } },
      })),
    });
    expect(created.status).toBe(201);
    const workflowId = created.body.id as string;

    const runIds: string[] = [];
    let killed = 0;
    let nextKill = Date.now() + 10_000;
    while (runIds.length < 50) {
      const via = live();
      const triggered = await cluster.api(via, 'POST', `/api/v1/workflows/${workflowId}/trigger`).catch(() => null);
      if (triggered?.status === 201) runIds.push(triggered.body.id);
      await new Promise((resolve) => setTimeout(resolve, 800));
      if (Date.now() >= nextKill) {
        const alive = cluster.nodes.filter((n) => n.child);
        const victim = alive[killed % alive.length]!;
        await victim.kill('SIGKILL');
        killed += 1;
        nextKill = Date.now() + 10_000;
        await new Promise((resolve) => setTimeout(resolve, 1000));
        await cluster.restart(victim);
      }
    }
    expect(killed).toBeGreaterThanOrEqual(3);

    // Every workflow run ends (generous: a loaded 2-core machine).
    const deadline = Date.now() + 180_000;
    const finished = new Map<string, any>();
    while (finished.size < runIds.length) {
      for (const id of runIds) {
        if (finished.has(id)) continue;
        const { status, body } = await cluster.api(live(), 'GET', `/api/v1/workflow-runs/${id}`).catch(() => ({ status: 0, body: null }));
        if (status === 200 && body.finishedAt !== null) finished.set(id, body);
      }
      if (finished.size < runIds.length) {
        expect(Date.now(), `${runIds.length - finished.size} workflow runs unfinished`).toBeLessThan(deadline);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }

    for (const [id, run] of finished) {
      const statuses = new Map<string, string>((run.nodes as any[]).map((n) => [n.id, n.reason ? `${n.status}:${n.reason}` : n.status === 'timed_out' ? 'failed' : n.status]));
      expect(statuses, `workflow run ${id}`).toEqual(expected.nodes);
      expect(run.status, `workflow run ${id}`).toBe(expected.workflow);
      const { body } = await cluster.api(live(), 'GET', `/api/v1/runs?workflowRunId=${id}&limit=1000`);
      const perNode = new Map<string, number>();
      for (const r of body.items as any[]) perNode.set(r.nodeId, (perNode.get(r.nodeId) ?? 0) + 1);
      for (const [nodeId, status] of expected.nodes) {
        expect(perNode.get(nodeId) ?? 0, `workflow run ${id}, node ${nodeId} (${status})`).toBe(status.startsWith('skipped') ? 0 : 1);
      }
    }
  }, 360_000);
});
