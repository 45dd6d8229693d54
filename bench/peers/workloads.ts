/**
 * The four workloads of the peer benchmark, written once against the System interface, so that
 * every system gets exactly the same workload and the same measurement.
 *
 * The handler start of a job is `Date.now()` when the handler began (peers, and ecron's SDK
 * executors), or when ecron's bare HTTP executor received the request. Lag = handler start − the job's due instant.
 */
import { sleep } from '../lib/children.ts';
import { summarize } from '../lib/stats.ts';
import { progress } from '../lib/table.ts';
import type { OneShot, Start, System } from './common.ts';

export type Metrics = Record<string, number | string | null>;

/** The longest lead before the first one-shot job is due (W1, W2). */
const MAX_LEAD_MS = 240_000;

/** Polls `count()` until `expected` starts or `deadline` (epoch ms). */
async function waitForStarts(system: System, expected: number, deadline: number): Promise<number> {
  let seen = await system.count();
  while (seen < expected && Date.now() < deadline) {
    await sleep(Math.min(200, deadline - Date.now()));
    seen = await system.count();
  }
  return seen;
}

/** First start per key, and how many starts came on top of those (duplicates) or for unknown keys. */
function firstStarts(starts: Start[], keys: Set<string>): { first: Map<string, Start>; duplicates: number; unknown: number } {
  const first = new Map<string, Start>();
  let duplicates = 0;
  let unknown = 0;
  for (const s of starts) {
    if (!keys.has(s.key)) unknown += 1;
    else if (first.has(s.key)) duplicates += 1;
    else first.set(s.key, s);
  }
  return { first, duplicates, unknown };
}

/**
 * Adds one-shot jobs due `lead` ahead (chosen from the system's enqueue rate so that enqueueing
 * ends well before the first is due), then waits for their starts.
 */
async function runOneShots(system: System, count: number, dueOffsetMs: (i: number) => number, waitAfterLastMs: number): Promise<{ jobs: OneShot[]; T: number; enqueueMs: number; gapMs: number; starts: Start[] }> {
  await system.prepare();
  await system.startWorkers();
  const rate = await system.enqueueRateHint();
  // Twice the time the hint predicts (under load, the enqueue rate drops well below the hint's),
  // plus a margin: 4 s, or 2 s for the small runs of --quick. At most MAX_LEAD_MS: on a machine so
  // busy that enqueueing takes longer, the cell overruns T and is marked invalid (instead of
  // running into its time limit).
  const leadMs = Math.min(MAX_LEAD_MS, Math.ceil((count / rate) * 1000 * 2) + (count < 5000 ? 2000 : 4000));
  const T = Date.now() + leadMs;
  const jobs = Array.from({ length: count }, (_, i) => ({ key: `j${i}`, due: T + dueOffsetMs(i) }));
  progress(`${system.name}: adding ${count} one-shot jobs, the first due in ${leadMs} ms (≈${Math.round(rate)}/s expected)`);
  const started = performance.now();
  await system.addOneShots(jobs);
  const enqueueMs = performance.now() - started;
  const gapMs = T - Date.now();
  progress(`${system.name}: added in ${Math.round(enqueueMs)} ms (${Math.round(count / (enqueueMs / 1000))}/s); first due in ${gapMs} ms`);
  const lastDue = jobs[count - 1]!.due;
  await sleep(lastDue - Date.now());
  await waitForStarts(system, count, Date.now() + waitAfterLastMs);
  await sleep(1000); // late duplicates
  return { jobs, T, enqueueMs, gapMs, starts: await system.starts() };
}

/**
 * A run whose enqueueing ended after the first job was due measures something else (jobs created
 * already late, to which misfire policies apply): it is marked invalid, and is no correctness failure.
 */
function overran(gapMs: number): Metrics {
  return gapMs < 0 ? { invalid: `enqueueing ended ${-gapMs} ms after the first job was due` } : {};
}

/** W1: `count` one-shot jobs due at the same instant T. */
export async function w1Burst(system: System, count: number): Promise<Metrics> {
  const { T, enqueueMs, gapMs, starts, jobs } = await runOneShots(system, count, () => 0, 120_000);
  const { first, duplicates, unknown } = firstStarts(starts, new Set(jobs.map((j) => j.key)));
  const offsets = [...first.values()].map((s) => s.at - T);
  const lag = summarize(offsets);
  const spanS = (lag.max - Math.max(0, lag.min)) / 1000;
  return {
    ...overran(gapMs),
    jobs: count, enqueuePerS: Math.round(count / (enqueueMs / 1000)), gapBeforeTMs: gapMs,
    firstMs: lag.min, lastMs: lag.max, throughputPerS: spanS > 0 ? Math.round(first.size / spanS) : null,
    lagP50: lag.p50, lagP99: lag.p99, lagMax: lag.max, early: offsets.filter((o) => o < 0).length,
    missing: count - first.size, duplicates, unknown,
  };
}

/** W2: `perSecond` jobs/s due at distinct instants over `seconds`. */
export async function w2Precision(system: System, perSecond: number, seconds: number): Promise<Metrics> {
  const count = perSecond * seconds;
  const spacing = 1000 / perSecond;
  const { enqueueMs, gapMs, starts, jobs } = await runOneShots(system, count, (i) => Math.round(i * spacing), 60_000);
  const { first, duplicates, unknown } = firstStarts(starts, new Set(jobs.map((j) => j.key)));
  const lags = [...first.values()].map((s) => s.at - s.due);
  const lag = summarize(lags);
  return {
    ...overran(gapMs),
    jobs: count, enqueuePerS: Math.round(count / (enqueueMs / 1000)), gapBeforeFirstMs: gapMs,
    lagP50: lag.p50, lagP90: lag.p90, lagP99: lag.p99, lagMax: lag.max, early: lags.filter((l) => l < 0).length,
    missing: count - first.size, duplicates, unknown,
  };
}

/**
 * W3: `count` recurring schedules at the system's finest interval. Measured over a window that
 * holds `occurrences` instants of every schedule (whole seconds for 1 s schedules; for 1 min
 * schedules the window runs from 30 s before a minute boundary to 30 s after the last one).
 */
export async function w3Recurring(system: System, count: number, occurrences: number, warmupMs: number): Promise<Metrics> {
  const interval = system.recurring.intervalMs;
  await system.prepare();
  const keys = Array.from({ length: count }, (_, i) => `s${i}`);
  const registered = await system.addRecurring(keys, 'finest');
  progress(`${system.name}: registered ${count} schedules every ${interval} ms in ${Math.round(registered.ms)} ms (${registered.method})`);
  await system.startWorkers();
  let windowStart: number;
  if (interval >= 60_000) {
    const boundary = Math.ceil((Date.now() + warmupMs) / interval) * interval;
    windowStart = boundary - interval / 2;
  } else {
    windowStart = Math.ceil((Date.now() + warmupMs) / 1000) * 1000;
  }
  const windowEnd = windowStart + occurrences * interval;
  const graceMs = interval >= 60_000 ? 15_000 : 3000;
  progress(`${system.name}: window ${new Date(windowStart).toISOString()} → ${new Date(windowEnd).toISOString()} (+${graceMs / 1000} s grace)`);
  await sleep(windowEnd + graceMs - Date.now());
  const starts = await system.starts();
  const seen = new Map<string, number>();
  const lags: number[] = [];
  let duplicates = 0;
  let inWindowStarts = 0;
  for (const s of starts) {
    const id = `${s.key}@${s.due}`;
    const times = seen.get(id) ?? 0;
    seen.set(id, times + 1);
    if (times > 0) duplicates += 1;
    if (s.due >= windowStart && s.due < windowEnd && times === 0) {
      inWindowStarts += 1;
      lags.push(s.at - s.due);
    }
  }
  const expected = count * occurrences;
  const lag = summarize(lags);
  const windowS = (windowEnd - windowStart) / 1000;
  return {
    schedules: count, intervalMs: interval, registerPerS: Math.round(count / (registered.ms / 1000)), registerMethod: registered.method,
    expectedPerS: Math.round((expected / windowS) * 10) / 10, achievedPerS: Math.round((inWindowStarts / windowS) * 10) / 10,
    expected, delivered: inWindowStarts, missed: Math.max(0, expected - inWindowStarts), duplicates,
    lagP50: lag.p50, lagP99: lag.p99, lagMax: lag.max, early: lags.filter((l) => l < 0).length,
  };
}

/**
 * W4: `count` registered schedules, all daily but one at the finest interval ("frequent"). The
 * system is (re)started with them registered; measured: start → ready, start → first fire of the
 * frequent schedule and that fire's lag, memory, and the latency of listing schedules.
 */
export async function w4Scale(system: System, count: number, bulk: boolean): Promise<Metrics> {
  await system.prepare();
  await system.addRecurring(['frequent'], 'finest');
  const keys = Array.from({ length: count - 1 }, (_, i) => `d${i}`);
  const registered = await system.addRecurring(keys, 'daily', bulk);
  progress(`${system.name}: registered ${count} schedules in ${Math.round(registered.ms)} ms (${registered.method})`);
  const t0 = Date.now();
  await system.startWorkers({ restart: true });
  const readyMs = Date.now() - t0;
  const deadline = Date.now() + system.recurring.intervalMs + 60_000;
  let firstFire: Start | undefined;
  while (!firstFire && Date.now() < deadline) {
    // The first occurrence due after the start (ecron fired the schedule before its restart, too).
    if ((await system.count()) > 0) firstFire = (await system.starts()).find((s) => s.key === 'frequent' && s.due >= t0);
    if (!firstFire) await sleep(50);
  }
  const footprint = await system.footprint();
  const listings: number[] = [];
  for (let i = 0; i < 5; i++) {
    const ms = system.listSchedules ? await system.listSchedules() : null;
    if (ms !== null) listings.push(ms);
  }
  return {
    schedules: count, registerPerS: Math.round(count / (registered.ms / 1000)), registerMethod: registered.method, readyMs,
    firstFireMs: firstFire ? firstFire.at - t0 : null, firstFireLagMs: firstFire ? firstFire.at - firstFire.due : null,
    rssMb: footprint.rssMb, handlerRssMb: footprint.handlerRssMb ?? null, storeMb: footprint.storeMb, storeWhat: footprint.storeWhat,
    listP50Ms: listings.length ? Math.round(summarize(listings).p50 * 10) / 10 : null,
  };
}
