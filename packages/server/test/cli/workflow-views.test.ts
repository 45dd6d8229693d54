import { describe, expect, it } from 'vitest';
import { graphTable, graphTree, needsText, specNodes } from '../../src/cli/workflow-views.ts';

const spec = (nodes: { id: string; needs?: (string | { node: string; optional: boolean })[] }[]) => ({ nodes });
const layout = (s: unknown) => graphTree(specNodes(s)).map((line) => `${'  '.repeat(line.depth)}${line.node.id}${needsText(line) ? ` [${needsText(line)}]` : ''}`);

describe('the graph of a workflow as a tree', () => {
  it('lists every node after all it needs, under the one of them listed last', () => {
    // y needs x (under a) and b: it is listed after b, under b, so that the order stays topological.
    expect(layout(spec([{ id: 'a' }, { id: 'b' }, { id: 'x', needs: ['a'] }, { id: 'y', needs: ['x', 'b'] }]))).toEqual([
      'a', '  x', 'b', '  y [x, b]',
    ]);
    expect(layout(spec([{ id: 'a' }, { id: 'b', needs: ['a'] }, { id: 'c', needs: ['a'] }, { id: 'd', needs: ['b', { node: 'c', optional: true }] }]))).toEqual([
      'a', '  b', '  c', '    d [b, c (optional)]',
    ]);
    // An optional need alone is marked too.
    expect(layout(spec([{ id: 'a' }, { id: 'b', needs: [{ node: 'a', optional: true }] }]))).toEqual(['a', '  b [a (optional)]']);
  });

  it('lists the nodes of a cycle or with a dangling need at the end, at the top level, instead of losing them', () => {
    expect(layout(spec([{ id: 'a', needs: ['b'] }, { id: 'b', needs: ['a'] }, { id: 'c' }, { id: 'd', needs: ['ghost'] }]))).toEqual([
      'c', 'd [ghost]', 'a [b]', 'b [a]',
    ]);
  });

  it('draws a chain of 10,000 nodes without deep recursion, deep levels at a bounded indent with their depth', () => {
    const nodes = Array.from({ length: 10_000 }, (_, i) => ({ id: `n${i}`, needs: i === 0 ? [] : [`n${i - 1}`] }));
    const table = graphTable(spec(nodes));
    const lines = table.trimEnd().split('\n');
    expect(lines).toHaveLength(10_001);
    expect(lines[1]).toMatch(/^n0 /);
    expect(lines[10_000]).toMatch(/^ {48}\[9999\] n9999 /);
    expect(Math.max(...lines.map((line) => line.length))).toBeLessThan(200);
  });
});
