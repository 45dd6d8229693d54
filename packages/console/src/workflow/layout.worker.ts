/** Lays a large graph out off the page's thread: one message in (the graph), one out (its layout, or `{ error }`). */
import { layoutDag, type LayoutInput } from './layout.ts';

addEventListener('message', (event: MessageEvent<LayoutInput>) => {
  try {
    postMessage({ layout: layoutDag(event.data) });
  } catch (error) {
    postMessage({ error: (error as Error).message ?? String(error) });
  }
});
