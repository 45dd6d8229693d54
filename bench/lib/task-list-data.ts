/**
 * The tasks of bench/task-list-latency.ts and the `GET /api/v1/tasks` filters it times, in one place
 * so that the data and the queries agree on what matches what.
 *
 * Task i lives in namespace `team-(i % 100)` and is named `job-` + i on 7 digits. Its features
 * follow j = floor(i / 100), its rank in its namespace, so that every namespace holds the same mix:
 * - state: paused when j % 20 = 3 (5 %), completed when j % 200 = 7 (0.5 %), active otherwise;
 * - last run status: none when j % 10 = 0 (10 %), failed when j % 50 = 1 (2 %), succeeded otherwise;
 * - labels on a third (j % 3 = 0): `app=app-NN` (20 values, each on 1.7 % of all tasks) and
 *   `tier=gold` (j % 30 = 0) or `tier=standard`.
 * Schedules fire once a year (1 January, 03:00), so that nothing fires while the list is timed.
 */
import type { BulkTask } from './bulk-tasks.ts';

export const NAMESPACES = 100;

const pad = (n: number, width: number): string => String(n).padStart(width, '0');
export const namespaceOf = (i: number): string => `team-${pad(i % NAMESPACES, 2)}`;
export const nameOf = (i: number): string => `job-${pad(i, 7)}`;

/** Task templates as a user writes them: yearly crons in two zones, an http target that is never called. */
export const TEMPLATES = ['UTC', 'Asia/Tokyo'].map((timezone) => ({
  name: 'x', schedule: { cron: '0 0 3 1 1 *', timezone }, target: { type: 'http', url: 'http://127.0.0.1:9/never' },
}));

/** The i-th task for lib/bulk-tasks.ts. */
export function taskAt(i: number, createdAt: number): BulkTask {
  const j = Math.floor(i / NAMESPACES);
  return {
    template: i % TEMPLATES.length, namespace: namespaceOf(i), name: nameOf(i), createdAt,
    state: j % 20 === 3 ? 'paused' : j % 200 === 7 ? 'completed' : undefined,
    lastRunStatus: j % 10 === 0 ? null : j % 50 === 1 ? 'failed' : 'succeeded',
    ...(j % 3 === 0 ? { labels: { app: `app-${pad(Math.floor(j / 3) % 20, 2)}`, tier: j % 30 === 0 ? 'gold' : 'standard' } } : {}),
  };
}

export interface ListFilter {
  label: string;
  /** The query string of the i-th request (without `limit`), for a store of `count` tasks. */
  query: (i: number, count: number) => string;
  /** Time the page after the first: the first page (not timed) gives the cursor. */
  page2?: boolean;
  /** As a viewer token scoped to three namespaces, not as the admin. */
  scoped?: boolean;
}

/** A task index spread over the store, different for each request. */
const pick = (i: number, count: number): number => (i * 7919) % count;
const ns = (i: number): string => `namespace=${namespaceOf(i)}`;
const enc = encodeURIComponent;

/** Every filter the endpoint takes, alone and with a namespace, page 2 of the common ones, and a scoped token. */
export const FILTERS: ListFilter[] = [
  { label: 'no filter', query: () => '' },
  { label: 'namespace', query: (i) => ns(i) },
  { label: 'state=active', query: () => 'state=active' },
  { label: 'state=paused (5 %)', query: () => 'state=paused' },
  { label: 'state=completed (0.5 %)', query: () => 'state=completed' },
  { label: 'namespace + state=paused', query: (i) => `${ns(i)}&state=paused` },
  { label: 'namespace + state=completed', query: (i) => `${ns(i)}&state=completed` },
  { label: 'lastRunStatus=succeeded', query: () => 'lastRunStatus=succeeded' },
  { label: 'lastRunStatus=failed (2 %)', query: () => 'lastRunStatus=failed' },
  { label: 'namespace + lastRunStatus=failed', query: (i) => `${ns(i)}&lastRunStatus=failed` },
  { label: 'state=active + lastRunStatus=failed', query: () => 'state=active&lastRunStatus=failed' },
  { label: 'state=active + lastRunStatus=timed_out (none)', query: () => 'state=active&lastRunStatus=timed_out' },
  { label: 'name= exact', query: (i, n) => `name=${nameOf(pick(i, n))}` },
  { label: 'namespace + name= exact', query: (i, n) => `${ns(pick(i, n))}&name=${nameOf(pick(i, n))}` },
  { label: 'state=active + name= exact', query: (i, n) => `state=active&name=${nameOf(pick(i, n))}` },
  { label: 'q= one match', query: (i, n) => `q=${nameOf(pick(i, n))}` },
  { label: 'namespace + q= one match', query: (i, n) => `${ns(pick(i, n))}&q=${nameOf(pick(i, n))}` },
  { label: 'q= 5 digits (~0.02 %)', query: (i) => `q=${10_000 + ((i * 7919) % 90_000)}` },
  { label: 'q= job-00 (10 % at 1M)', query: () => 'q=job-00' },
  { label: 'q= no match', query: (i) => `q=nomatch${i % 10}` },
  { label: 'q= 2 characters, no match', query: (i) => `q=${'zqxw'[i % 4]}${'vykq'[(i >> 2) % 4]}` },
  { label: 'namespace + q= no match', query: (i) => `${ns(i)}&q=nomatch${i % 10}` },
  { label: 'label app=app-NN (1.7 %)', query: (i) => `label=${enc(`app=app-${pad(i % 20, 2)}`)}` },
  { label: 'namespace + label app=', query: (i) => `${ns(i)}&label=${enc(`app=app-${pad(i % 20, 2)}`)}` },
  { label: 'label, no match', query: () => `label=${enc('app=none')}` },
  { label: 'page 2: no filter', query: () => '', page2: true },
  { label: 'page 2: namespace', query: (i) => ns(i), page2: true },
  { label: 'page 2: state=paused', query: () => 'state=paused', page2: true },
  { label: 'page 2: lastRunStatus=failed', query: () => 'lastRunStatus=failed', page2: true },
  { label: 'page 2: q= job-00', query: () => 'q=job-00', page2: true },
  { label: 'page 2: label app=', query: (i) => `label=${enc(`app=app-${pad(i % 20, 2)}`)}`, page2: true },
  { label: 'token of 3 namespaces', query: () => '', scoped: true },
  { label: 'token of 3 namespaces + state=paused', query: () => 'state=paused', scoped: true },
  { label: 'page 2: token of 3 namespaces', query: () => '', scoped: true, page2: true },
];

/** The namespaces of the scoped token. */
export const SCOPED_NAMESPACES = [namespaceOf(7), namespaceOf(42), namespaceOf(93)];
