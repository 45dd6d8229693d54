/** The console's workflow graph: spec ↔ graph, the editor's changes, where validation issues land, the layout (pure: no browser, no server). */
import { describe, expect, it } from 'vitest';
import {
  addNeed, addNode, compactNeeds, findCycleClosingEdge, markIssues, parseIssuePath, removeNeeds, removeNodes, replaceNode, specToDag, toggleNeedOptional, uniqueNodeId,
} from '../src/workflow/graph.ts';
import { COMPACT_LIMIT, LARGE_DAG, layoutDag, NODE_WIDTH } from '../src/workflow/layout.ts';
import { canRerunFromFailed, nodeActions, nodeDurationMs } from '../src/workflow/run.ts';
import type { WorkflowSpec } from '../src/workflow/types.ts';

const spec = (nodes: WorkflowSpec['nodes']): WorkflowSpec => ({ namespace: 'default', name: 'etl', schedule: { manual: true }, nodes });

/** extract → (transform, audit?) → load, as a user writes it. */
const ETL = spec([
  { id: 'extract', task: 'extract' },
  { id: 'transform', task: 'transform', needs: ['extract'] },
  { id: 'audit', target: { type: 'http', url: 'http://127.0.0.1:9/audit' }, needs: ['extract'] },
  { id: 'load', task: 'load', needs: ['transform', { node: 'audit', optional: true }] },
]);

/** `levels` columns of `width` nodes; each node needs the one in its row before it, and every other one a second node too. */
function layered(levels: number, width: number): WorkflowSpec {
  const nodes: WorkflowSpec['nodes'] = [];
  for (let l = 0; l < levels; l++) {
    for (let i = 0; i < width; i++) {
      const needs = l === 0 ? [] : [`n${l - 1}-${i}`, ...(i % 2 ? [`n${l - 1}-${(i * 7 + 3) % width}`] : [])];
      nodes.push({ id: `n${l}-${i}`, task: 'step', needs: [...new Set(needs)] });
    }
  }
  return spec(nodes);
}

describe('spec to graph', () => {
  it('draws an edge from each need to the node that needs it, optional ones marked', () => {
    const dag = specToDag(ETL);
    expect(dag.nodes.map((n) => [n.id, n.index])).toEqual([['extract', 0], ['transform', 1], ['audit', 2], ['load', 3]]);
    expect(dag.edges).toEqual([
      { id: 'extract->transform', source: 'extract', target: 'transform', optional: false },
      { id: 'extract->audit', source: 'extract', target: 'audit', optional: false },
      { id: 'transform->load', source: 'transform', target: 'load', optional: false },
      { id: 'audit->load', source: 'audit', target: 'load', optional: true },
    ]);
  });

  it('reads the API\'s long form of needs the same as the short form', () => {
    const returned = spec([
      { id: 'a', needs: [], params: {}, run: 'on-success' },
      { id: 'b', needs: [{ node: 'a', optional: false }], params: {}, run: 'always' },
    ]);
    expect(specToDag(returned).edges).toEqual([{ id: 'a->b', source: 'a', target: 'b', optional: false }]);
    expect(compactNeeds(returned).nodes[1]!.needs).toEqual(['a']);
    expect(compactNeeds(spec([{ id: 'a' }, { id: 'b', needs: [{ node: 'a', optional: true }] }])).nodes[1]!.needs).toEqual([{ node: 'a', optional: true }]);
  });

  it('leaves out what it cannot draw, without throwing', () => {
    for (const broken of [null, 'text', [], {}, { nodes: 'x' }, { nodes: [null, 3, { id: 7 }, { needs: ['a'] }] }]) {
      expect(specToDag(broken)).toEqual({ nodes: [], edges: [] });
    }
    const dag = specToDag(spec([
      { id: 'a', needs: ['a', 'ghost', 42 as never, { node: '' }] },
      { id: 'b', needs: ['a', { node: 'a', optional: true }] },
      { id: 'a', needs: ['b'] },
    ]));
    expect(dag.nodes.map((n) => n.id)).toEqual(['a', 'b']);
    // A need written twice is one edge, required when one copy is.
    expect(dag.edges).toEqual([{ id: 'a->b', source: 'a', target: 'b', optional: false }]);
  });
});

describe('editing a spec through the graph', () => {
  it('adds a need once, never on itself or on an unknown node, in the short form', () => {
    let s = addNode(ETL, { id: 'notify', task: 'notify' });
    s = addNeed(s, 'load', 'notify');
    expect(s.nodes.at(-1)!.needs).toEqual(['load']);
    expect(addNeed(s, 'load', 'notify')).toBe(s);
    expect(addNeed(s, 'notify', 'notify')).toBe(s);
    expect(addNeed(s, 'ghost', 'notify')).toBe(s);
    expect(addNeed(s, 'audit', 'notify', true).nodes.at(-1)!.needs).toEqual(['load', { node: 'audit', optional: true }]);
    // The input is never changed.
    expect(ETL.nodes).toHaveLength(4);
  });

  it('toggles a need between required and optional', () => {
    const optional = toggleNeedOptional(ETL, 'transform', 'load');
    expect(optional.nodes[3]!.needs).toEqual([{ node: 'transform', optional: true }, { node: 'audit', optional: true }]);
    expect(toggleNeedOptional(optional, 'audit', 'load').nodes[3]!.needs).toEqual([{ node: 'transform', optional: true }, 'audit']);
    expect(specToDag(optional).edges.find((e) => e.id === 'transform->load')!.optional).toBe(true);
    expect(toggleNeedOptional(ETL, 'load', 'extract')).toBe(ETL);
  });

  it('removes nodes with the needs on them, and edges alone', () => {
    const withoutTransform = removeNodes(ETL, ['transform']);
    expect(withoutTransform.nodes.map((n) => n.id)).toEqual(['extract', 'audit', 'load']);
    expect(withoutTransform.nodes[2]!.needs).toEqual([{ node: 'audit', optional: true }]);
    const withoutEdges = removeNeeds(ETL, [{ source: 'extract', target: 'audit' }, { source: 'audit', target: 'load' }]);
    expect(withoutEdges.nodes.map((n) => n.needs ?? [])).toEqual([[], ['extract'], [], ['transform']]);
  });

  it('renames a node and the needs that name it, and finds free ids', () => {
    const renamed = replaceNode(ETL, 'audit', { ...ETL.nodes[2]!, id: 'check' });
    expect(renamed.nodes[2]!.id).toBe('check');
    expect(renamed.nodes[3]!.needs).toEqual(['transform', { node: 'check', optional: true }]);
    expect(uniqueNodeId(ETL, 'load')).toBe('load-2');
    expect(uniqueNodeId(addNode(ETL, { id: 'load-2' }), 'load')).toBe('load-3');
    expect(uniqueNodeId(ETL, 'report')).toBe('report');
  });
});

describe('validation issues on the graph', () => {
  it('reads node and need indexes from a path', () => {
    expect(parseIssuePath('nodes[2].needs[0]')).toEqual({ node: 2, need: 0 });
    expect(parseIssuePath('nodes[11].task')).toEqual({ node: 11 });
    expect(parseIssuePath('schedule.cron')).toBeNull();
  });

  it('marks the node a path names, and the edge that closes a cycle', () => {
    // load → extract closes extract → transform → load → extract.
    const cyclic = addNeed(ETL, 'load', 'extract');
    const marks = markIssues(cyclic, [
      { path: 'nodes[0].needs[0]', code: 'DEPENDENCY_CYCLE', message: 'extract → transform → load → extract' },
      { path: 'nodes[2]', code: 'NODE_TARGET_REQUIRED', message: 'a node needs a task or a target' },
      { path: 'schedule.cron', code: 'INVALID_CRON', message: 'bad cron' },
      { path: 'nodes[9].needs[0]', code: 'UNKNOWN_NODE', message: 'no node 9' },
    ]);
    expect([...marks.nodes]).toEqual([['extract', ['extract → transform → load → extract']], ['audit', ['a node needs a task or a target']]]);
    expect([...marks.edges]).toEqual([['load->extract', ['extract → transform → load → extract']]]);
    expect(marks.general.map((i) => i.code)).toEqual(['INVALID_CRON', 'UNKNOWN_NODE']);
  });

  it('finds the closing edge itself when the path names the node only', () => {
    const cyclic = addNeed(ETL, 'load', 'extract');
    expect([...markIssues(cyclic, [{ path: 'nodes[1]', code: 'DEPENDENCY_CYCLE', message: 'cycle' }]).edges.keys()]).toEqual(['extract->transform']);
    expect(findCycleClosingEdge(specToDag(cyclic))!.id).toBe('load->extract');
    expect(findCycleClosingEdge(specToDag(ETL))).toBeNull();
    // A long chain closed at its end: no recursion to overflow.
    const chain = layered(5000, 1);
    expect(findCycleClosingEdge(specToDag(addNeed(chain, 'n4999-0', 'n0-0')))!.id).toBe('n4999-0->n0-0');
  });
});

describe('layout', () => {
  it('lays needs out left of the nodes that need them', () => {
    const { positions } = layoutDag(specToDag(ETL));
    expect(Object.keys(positions).sort()).toEqual(['audit', 'extract', 'load', 'transform']);
    expect(positions.transform!.x).toBeGreaterThanOrEqual(positions.extract!.x + NODE_WIDTH);
    expect(positions.load!.x).toBeGreaterThanOrEqual(positions.transform!.x + NODE_WIDTH);
    expect(positions.audit!.x).toBe(positions.transform!.x);
  });

  it('draws a cycle and stray edges without failing', () => {
    const { positions } = layoutDag({ nodes: [{ id: 'a' }, { id: 'b' }], edges: [{ source: 'a', target: 'b' }, { source: 'b', target: 'a' }, { source: 'a', target: 'a' }, { source: 'a', target: 'ghost' }] });
    expect(Object.keys(positions)).toEqual(['a', 'b']);
  });

  it('ranks a large graph column by column', () => {
    const dag = specToDag(layered(4, COMPACT_LIMIT));
    const { positions } = layoutDag(dag);
    const columns = new Set(dag.nodes.map((n) => positions[n.id]!.x));
    expect(columns.size).toBe(4);
  });

  it(`lays out a 5,000-node graph (10 levels of 500) in one go`, { timeout: 120_000 }, () => {
    const dag = specToDag(layered(10, 500));
    expect(dag.nodes.length).toBeGreaterThanOrEqual(LARGE_DAG);
    const started = performance.now();
    const { positions, width } = layoutDag(dag);
    const ms = performance.now() - started;
    console.log(`layout of ${dag.nodes.length} nodes and ${dag.edges.length} edges: ${Math.round(ms)} ms`);
    expect(Object.keys(positions)).toHaveLength(5000);
    expect(new Set(dag.nodes.map((n) => positions[n.id]!.x)).size).toBe(10);
    expect(width).toBeGreaterThan(10 * NODE_WIDTH);
  });
});

describe('a workflow run', () => {
  const node = (status: string, reason: string | null = null) => ({ id: status, status, reason, runId: null, attempts: 0, startedAt: null, finishedAt: null }) as never;

  it('offers "rerun from failed" when a node ended badly: failed, timed out, cancelled, or skipped for that', () => {
    expect(canRerunFromFailed({ nodes: [node('succeeded'), node('failed')] })).toBe(true);
    expect(canRerunFromFailed({ nodes: [node('timed_out')] })).toBe(true);
    expect(canRerunFromFailed({ nodes: [node('skipped', 'upstream_failed')] })).toBe(true);
    expect(canRerunFromFailed({ nodes: [node('cancelled')] })).toBe(true);
    expect(canRerunFromFailed({ nodes: [node('skipped', 'cancelled')] })).toBe(true);
    expect(canRerunFromFailed({ nodes: [node('skipped', 'condition'), node('skipped', 'manual'), node('succeeded'), node('running'), node('waiting')] })).toBe(false);
    expect(canRerunFromFailed({})).toBe(false);
  });

  it('offers per-node actions by status, and times nodes', () => {
    expect(nodeActions({ status: 'failed' })).toEqual({ rerun: true, succeed: true, skip: true });
    expect(nodeActions({ status: 'running' })).toEqual({ rerun: false, succeed: false, skip: false });
    expect(nodeActions({ status: 'waiting' })).toEqual({ rerun: false, succeed: true, skip: true });
    expect(nodeActions({ status: 'succeeded' })).toEqual({ rerun: true, succeed: false, skip: false });
    expect(nodeDurationMs({ startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:01.500Z' })).toBe(1500);
    expect(nodeDurationMs({ startedAt: '2026-01-01T00:00:00.000Z', finishedAt: null }, Date.parse('2026-01-01T00:00:03Z'))).toBe(3000);
    expect(nodeDurationMs({ startedAt: null, finishedAt: null })).toBeNull();
  });
});
