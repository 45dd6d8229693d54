/**
 * The layout of a workflow graph, computed once per graph. A small graph is laid out on the spot;
 * a large one ({@link LARGE_DAG} nodes and more, seconds of dagre) in a worker, so the page stays
 * responsive meanwhile, and is kept for the graph's spec: a page's 1-second refresh, or a switch
 * from the list to the graph and back, does not lay it out again.
 */
import { useEffect, useMemo, useState } from 'react';
import type { Dag } from '../../workflow/graph.ts';
import { LARGE_DAG, layoutDag, type Layout, type LayoutInput } from '../../workflow/layout.ts';

/** Layouts of large graphs by the object their graph was drawn from (a spec of the query cache). */
const cache = new WeakMap<object, Promise<Layout>>();

function inWorker(graph: LayoutInput): Promise<Layout> {
  return new Promise((resolve, reject) => {
    let worker: Worker;
    try {
      worker = new Worker(new URL('../../workflow/layout.worker.ts', import.meta.url), { type: 'module' });
    } catch {
      // No worker here: lay it out on this thread, after the page has painted its spinner.
      setTimeout(() => {
        try {
          resolve(layoutDag(graph));
        } catch (error) {
          reject(error as Error);
        }
      }, 50);
      return;
    }
    worker.onmessage = (event: MessageEvent<{ layout?: Layout; error?: string }>) => {
      worker.terminate();
      if (event.data.layout) resolve(event.data.layout);
      else reject(new Error(event.data.error ?? 'layout failed'));
    };
    worker.onerror = (event) => {
      worker.terminate();
      reject(new Error(event.message || 'layout worker failed'));
    };
    // Only what the layout reads crosses over: ids and edges, not the nodes' specs.
    worker.postMessage({ nodes: graph.nodes.map((n) => ({ id: n.id })), edges: graph.edges.map((e) => ({ source: e.source, target: e.target })) });
  });
}

export type LayoutState = { layout: Layout; error?: undefined } | { layout?: undefined; error: string } | { layout?: undefined; error?: undefined };

/**
 * `key` is the object the graph was drawn from (a spec of the query cache): while it stays the
 * same object, a large graph is not laid out again. A small one is laid out again when `dag`
 * changes.
 */
export function useDagLayout(dag: Dag, key: object): LayoutState {
  const large = dag.nodes.length >= LARGE_DAG;
  const small = useMemo(() => (large ? null : layoutDag(dag)), [dag, large]);
  const [done, setDone] = useState<{ key: object; state: LayoutState } | null>(null);
  useEffect(() => {
    if (!large) return;
    let live = true;
    let pending = cache.get(key);
    if (!pending) {
      pending = inWorker(dag);
      cache.set(key, pending);
      pending.catch(() => cache.delete(key));
    }
    pending.then(
      (layout) => live && setDone({ key, state: { layout } }),
      (error: unknown) => live && setDone({ key, state: { error: (error as Error).message } }),
    );
    return () => {
      live = false;
    };
  }, [dag, key, large]);
  if (small) return { layout: small };
  return done?.key === key ? done.state : {};
}
