/**
 * How far a server's heap may grow past its live data before V8 collects the old generation: set
 * by `ecron start`, for the whole process, before the server starts.
 *
 * V8 lets the old generation grow to up to 4 × what survived its last full collection when
 * collecting is cheap compared with the program's work, as on a scheduler node: a node keeping up
 * with 700 fires a second holds 50-60 MiB of live objects, and most of what outlives a young
 * collection dies soon after (a fire's rows, request and reply live for milliseconds to seconds),
 * so the old generation filled with garbage up to ~200 MiB before each full collection, and the
 * native memory of Buffers that died with it (socket reads) waited as long. A growth of 50 %
 * (`--heap-growing-percent=50`) keeps the old generation within 1.5 × its live size, at the cost
 * of a full collection every few seconds under load (mostly concurrent marking): measured on one
 * node firing ~750 a second, RSS 410 → 300 MiB (docs/benchmarks.md, "Cluster on PostgreSQL").
 *
 * The flag is one V8 reads at each collection, so it works when set at run time. The young
 * generation's size is read only at start-up: see young-generation.ts. Why both: docs/decisions.md.
 */
import v8 from 'node:v8';

/** The old generation may grow to (100 + this) % of its live size before a full collection. */
export const HEAP_GROWING_PERCENT = 50;

const FLAG = /^--heap[-_]growing[-_]percent(=|$)/;

/**
 * Sets V8's heap growing factor unless the node command line or NODE_OPTIONS already sets it (an
 * operator's choice wins). Returns the percent set, or null when left as given.
 */
export function limitHeapGrowth(p: { execArgv: readonly string[]; nodeOptions: string | undefined }): number | null {
  const given = [...p.execArgv, ...(p.nodeOptions ?? '').split(/\s+/)].some((arg) => FLAG.test(arg));
  if (given) return null;
  v8.setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return HEAP_GROWING_PERCENT;
}
