/**
 * Bucket leases on the node's own clock: convergence, local step-down, presumed death, terms, the
 * events, and exclusive mode. Every node runs in this process with a ManualClock of its own (its
 * `clock` option) against one real PostgreSQL store in a scratch schema; ticks happen when the
 * test moves a node's clock past its renewal timer (or calls `tick()`), never on real time.
 *
 * Two clocks are at play, and only one of them is the test's:
 * - The node's clock (manual) decides what is node-local: step-down (`holds`, `fence`),
 *   `nodeAlive` and presumed death. The test moves it.
 * - The store's clock (the database's) decides the expiry of leases and nodes. The test cannot
 *   move it, so leases last a minute of it (TTL 60 s), far longer than a test: nothing expires in
 *   the store on its own, and whatever a node stops using here, it stops using on its own clock.
 *   Where a test needs the store's time to have passed for one node (its silence, as the other
 *   nodes see it), it ages that node's rows: their instants moved back by the same amount, which
 *   is what the store would show had that much of its time passed without a word from the node.
 *
 * Store calls go through a thin wrapper around the real store that can make the heartbeat or any
 * other lease verb fail or hang, and make a call take time on the node's clock (the clock moves on
 * once the real call returns), so that "the start of a call" and "its end" are different instants.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { scratchSqlStore } from '../../scripts/scratch-sql-store.ts';
import { allBuckets, BUCKET_COUNT } from '../../src/core/buckets.ts';
import { BucketLeases } from '../../src/scheduler/bucket-leases.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { AcquiredLease, BucketLease, Store } from '../../src/store/store.ts';
import { ManualClock } from '../../src/testing/manual-clock.ts';
import { adminQuery, POSTGRES_URL, randomName } from '../store/sql-test-stores.ts';

const T0 = Date.UTC(2026, 0, 1);
/** Lease and node TTL: a minute of the store's clock, longer than any test here. */
const TTL = 60_000;
const MARGIN = 10_000;
const RENEW = 5_000;
/** How long after the start of a renewal (or acquisition) a lease counts as held, locally. */
const VALID = TTL - MARGIN;
/** Bound on ticks stepped through in one go: a broken timer fails the test instead of looping. */
const MAX_STEPS = 200;
/** Bound on the real time one tick may take (store I/O): a tick that never ends fails the test. */
const TICK_BOUND_MS = 10_000;

const VERBS = ['heartbeatNode', 'renewBuckets', 'acquireBuckets', 'releaseBuckets', 'listNodes', 'listBucketLeases', 'removeNode'] as const;
type Verb = (typeof VERBS)[number];

/**
 * The real store, with its lease verbs switchable into failure (they reject at once) or a hang
 * (they never answer until healed, then reject like a timeout), and a latency per verb on the
 * node's clock. Every other method is the real store's.
 */
class FaultyStore {
  readonly store: Store;
  /** How long a call of each verb takes on the node's clock (added once the real call returns). */
  readonly latency: Partial<Record<Verb, number>> = {};
  readonly #faults = new Map<Verb, 'fail' | 'hang'>();
  #hung: ((error: Error) => void)[] = [];
  #hangWaiters: (() => void)[] = [];

  constructor(real: Store, clock: ManualClock) {
    const wrapped = new Map<PropertyKey, unknown>(VERBS.map((verb) => [verb, async (...args: unknown[]) => {
      const fault = this.#faults.get(verb);
      if (fault === 'fail') throw new Error(`${verb} failed (injected)`);
      if (fault === 'hang') {
        return new Promise((_resolve, reject) => {
          this.#hung.push(reject);
          for (const wake of this.#hangWaiters.splice(0)) wake();
        });
      }
      const result: unknown = await (real[verb] as (...a: unknown[]) => Promise<unknown>).apply(real, args);
      const ms = this.latency[verb];
      if (ms) await clock.advance(ms);
      return result;
    }]));
    this.store = new Proxy(real, {
      get: (target, prop) => {
        if (wrapped.has(prop)) return wrapped.get(prop);
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  fail(...verbs: Verb[]): void {
    for (const verb of verbs) this.#faults.set(verb, 'fail');
  }

  hang(...verbs: Verb[]): void {
    for (const verb of verbs) this.#faults.set(verb, 'hang');
  }

  /** Resolves once a call is hanging (at once if one already is). */
  hanging(): Promise<void> {
    if (this.#hung.length > 0) return Promise.resolve();
    return new Promise((resolve) => this.#hangWaiters.push(resolve));
  }

  /** Every verb works again; calls still hanging reject, as a timeout would end them. */
  heal(): void {
    this.#faults.clear();
    for (const reject of this.#hung.splice(0)) reject(new Error('timed out (injected)'));
  }
}

type Logged =
  | { event: 'acquired'; leases: AcquiredLease[] }
  | { event: 'lost'; buckets: number[] }
  | { event: 'presumed-dead'; leasedThen: number }
  | { event: 'tick'; ok: boolean; at: number };

/** One node: its clock, its store wrapper, its leases and what they emitted, in order. */
interface Member {
  id: string;
  clock: ManualClock;
  faults: FaultyStore;
  leases: BucketLeases;
  /** The node's clock when its last tick ended: the next one is due RENEW later. */
  tickEndedAt: number;
  log: Logged[];
  /** Its log lines (level and message). */
  lines: string[];
}

const events = <E extends Logged['event']>(m: Member, event: E, since = 0) =>
  m.log.slice(since).filter((entry): entry is Extract<Logged, { event: E }> => entry.event === event);
const ticks = (m: Member, since = 0) => events(m, 'tick', since).map((entry) => entry.ok);
/** The buckets a node holds now, as a list (heldBuckets() says undefined for all of them). */
const held = (m: Member) => m.leases.heldBuckets() ?? allBuckets();
const fenceTerms = (m: Member) => (m.leases.fence()?.terms ?? []).map((term) => [term.bucket, term.epoch]).sort((x, y) => x[0]! - y[0]!);

/** Resolves with the node's next `tick` event; rejects if none comes within TICK_BOUND_MS of real time. */
function nextTick(m: Member): Promise<{ ok: boolean }> {
  return new Promise((resolve, reject) => {
    const listener = (tick: { ok: boolean }) => {
      clearTimeout(bound);
      resolve(tick);
    };
    const bound = setTimeout(() => {
      m.leases.events.off('tick', listener);
      reject(new Error(`${m.id}: no tick within ${TICK_BOUND_MS} ms`));
    }, TICK_BOUND_MS);
    m.leases.events.once('tick', listener);
  });
}

/** Moves the node's clock to its next renewal and waits for that tick to end; returns its `ok`. */
async function step(m: Member): Promise<boolean> {
  expect(m.clock.pendingTimers, `${m.id} has a tick pending`).toBe(1);
  const ticked = nextTick(m);
  await m.clock.set(m.tickEndedAt + RENEW);
  return (await ticked).ok;
}

/** Moves the node's clock to `target`, through every tick due on the way (each waited for). */
async function advanceTo(m: Member, target: number): Promise<void> {
  for (let i = 0; m.clock.pendingTimers > 0 && m.tickEndedAt + RENEW <= target; i++) {
    expect(i, `${m.id}: more than ${MAX_STEPS} ticks before ${target - T0}`).toBeLessThan(MAX_STEPS);
    await step(m);
  }
  await m.clock.set(target);
}

describe('bucket leases on the node\'s clock (postgres store)', () => {
  let store: Store;
  let schema: string;
  const members: Member[] = [];
  const extraStores: Store[] = [];

  beforeEach(async () => {
    schema = randomName();
    store = await scratchSqlStore(POSTGRES_URL, { name: schema });
    await store.open();
  });
  afterEach(async () => {
    for (const m of members.splice(0)) {
      m.leases.halt();
      m.faults.heal();
    }
    // Let the ticks ended by heal() settle before the store closes.
    await new Promise((resolve) => setImmediate(resolve));
    for (const extra of extraStores.splice(0)) await extra.close();
    await store.close();
  });

  function member(id: string, options: { exclusive?: boolean; latency?: Partial<Record<Verb, number>>; on?: Store } = {}): Member {
    const clock = new ManualClock(T0);
    const faults = new FaultyStore(options.on ?? store, clock);
    Object.assign(faults.latency, options.latency ?? {});
    const leases = new BucketLeases({
      store: faults.store, clock, nodeId: id, tzVersion: '2026c', exclusive: options.exclusive ?? false,
      ttlMs: TTL, renewIntervalMs: RENEW, safetyMarginMs: MARGIN,
      node: { address: () => `http://${id}:7070`, roles: ['scheduler'], version: '0.1.0', startedAt: T0 },
      log: (level, message) => m.lines.push(`${level}: ${message}`),
    });
    const m: Member = { id, clock, faults, leases, tickEndedAt: T0, log: [], lines: [] };
    leases.events.on('acquired', (acquired) => m.log.push({ event: 'acquired', leases: acquired }));
    leases.events.on('lost', (buckets) => m.log.push({ event: 'lost', buckets }));
    leases.events.on('presumed-dead', () => m.log.push({ event: 'presumed-dead', leasedThen: allBuckets().filter((b) => leases.leased(b)).length }));
    leases.events.on('tick', ({ ok }) => {
      m.tickEndedAt = clock.now();
      m.log.push({ event: 'tick', ok, at: clock.now() });
    });
    members.push(m);
    return m;
  }

  /** Live leases, as the store has them (by its own clock). */
  async function liveLeases(on: Store = store): Promise<BucketLease[]> {
    const now = await on.now();
    return (await on.listBucketLeases()).filter((lease) => lease.expiresAt > now);
  }

  const ownedBy = (leases: BucketLease[], owner: string) => leases.filter((lease) => lease.owner === owner).map((lease) => lease.bucket);
  const epochs = (leases: BucketLease[]) => new Map(leases.map((lease) => [lease.bucket, lease.epoch]));

  /** Moves `ms` of the store's time over one node's rows (see the header): its node and its leases expire that much sooner. */
  async function ageRows(nodeId: string, ms: number): Promise<void> {
    expect(nodeId).toMatch(/^[a-z-]+$/);
    await adminQuery(POSTGRES_URL, `UPDATE ${schema}.bucket_leases SET expires_at = expires_at - ${ms} WHERE owner = '${nodeId}';
      UPDATE ${schema}.cluster_nodes SET heartbeat_at = heartbeat_at - ${ms}, expires_at = expires_at - ${ms} WHERE id = '${nodeId}'`);
  }

  /** Each node's share of an even assignment: quotas differ by at most one, the larger to the first ids. */
  function quotas(ms: Member[]): Record<string, number> {
    const ids = ms.map((m) => m.id).sort();
    return Object.fromEntries(ids.map((id, i) => [id, Math.floor(BUCKET_COUNT / ids.length) + (i < BUCKET_COUNT % ids.length ? 1 : 0)]));
  }

  async function isEven(ms: Member[]): Promise<boolean> {
    const leases = await liveLeases();
    const want = quotas(ms);
    return leases.length === BUCKET_COUNT && ms.every((m) => ownedBy(leases, m.id).length === want[m.id] && held(m).length === want[m.id]);
  }

  /** Ticks every node in turn until the assignment is even (bounded); returns the rounds it took. */
  async function converge(ms: Member[], maxRounds = 6): Promise<number> {
    for (let round = 1; round <= maxRounds; round++) {
      for (const m of ms) expect(await step(m), `${m.id} ticks fine`).toBe(true);
      if (await isEven(ms)) return round;
    }
    throw new Error(`no even assignment after ${maxRounds} rounds`);
  }

  /** Every bucket leased live to exactly one of `ms`, in even shares, and each node holds (and fences) exactly its own. */
  async function expectEven(ms: Member[]): Promise<void> {
    const leases = await liveLeases();
    expect(leases.map((lease) => lease.bucket)).toEqual(allBuckets());
    expect(Object.fromEntries(ms.map((m) => [m.id, ownedBy(leases, m.id).length]))).toEqual(quotas(ms));
    for (const m of ms) {
      const own = leases.filter((lease) => lease.owner === m.id);
      expect(held(m), `${m.id} holds what the store leases it`).toEqual(own.map((lease) => lease.bucket));
      expect(fenceTerms(m), `${m.id} fences with the store's terms`).toEqual(own.map((lease) => [lease.bucket, lease.epoch]));
    }
  }

  // ---- 1. convergence, and a clean stop ------------------------------------------------------

  it('two nodes converge on an even share; one that stops releases its buckets at once and the other takes them on its next tick', async () => {
    const a = member('node-a');
    const b = member('node-b');
    await a.leases.start();
    expect(a.leases.heldBuckets()).toBeUndefined(); // alone: every bucket
    await b.leases.start();
    expect(b.leases.heldBuckets()).toEqual([]); // a holds them all, live
    await converge([a, b]);
    await expectEven([a, b]);

    // Stable: another round moves nothing and starts no term.
    const settled = (await liveLeases()).map((lease) => [lease.bucket, lease.owner, lease.epoch]);
    for (const m of [a, b]) expect(await step(m)).toBe(true);
    expect((await liveLeases()).map((lease) => [lease.bucket, lease.owner, lease.epoch])).toEqual(settled);

    const bBuckets = held(b);
    const mark = b.log.length;
    await b.leases.stop();
    expect(events(b, 'lost', mark).flatMap((entry) => entry.buckets).sort((x, y) => x - y)).toEqual(bBuckets);
    expect(b.leases.heldBuckets()).toEqual([]);
    expect(b.leases.fence()!.terms).toEqual([]);
    // At once, on the store: no live lease of b, and b is no longer a member.
    expect(ownedBy(await liveLeases(), 'node-b')).toEqual([]);
    expect((await store.listNodes()).map((node) => node.id)).toEqual(['node-a']);
    expect(bBuckets.some((bucket) => a.leases.holds(bucket))).toBe(false); // not before a ticks

    expect(await step(a)).toBe(true);
    expect(a.leases.heldBuckets()).toBeUndefined();
    expect(a.leases.liveNodeIds()).toEqual(['node-a']);
    expect(ownedBy(await liveLeases(), 'node-a')).toEqual(allBuckets());
  });

  it('three nodes converge on an even share (86/85/85); when one stops, the other two take its buckets on their next tick', async () => {
    const [a, b, c] = ['node-a', 'node-b', 'node-c'].map((id) => member(id)) as [Member, Member, Member];
    for (const m of [a, b, c]) await m.leases.start();
    await converge([a, b, c]);
    await expectEven([a, b, c]);
    expect([held(a).length, held(b).length, held(c).length]).toEqual([86, 85, 85]);
    expect(new Set([...held(a), ...held(b), ...held(c)]).size).toBe(BUCKET_COUNT);

    const before = { a: held(a), c: held(c) };
    await b.leases.stop();
    expect(ownedBy(await liveLeases(), 'node-b')).toEqual([]);
    expect(await step(a)).toBe(true);
    expect(await step(c)).toBe(true);
    await expectEven([a, c]);
    // Minimal movement: each kept what it had.
    expect(held(a)).toEqual(expect.arrayContaining(before.a));
    expect(held(c)).toEqual(expect.arrayContaining(before.c));
  });

  it('a stopping node releases its terms itself: even when leaving the cluster fails, none stays live; the others take its buckets once its membership lapses', async () => {
    const a = member('node-a');
    const b = member('node-b');
    await a.leases.start();
    await b.leases.start();
    await converge([a, b]);
    const bBuckets = held(b);
    b.faults.fail('removeNode');
    await b.leases.stop();
    expect(b.lines).toEqual([expect.stringMatching(/^warn: leaving the cluster failed/)]);
    expect(ownedBy(await liveLeases(), 'node-b')).toEqual([]);
    // Still a live member for the store: its share stays its own until that lapses.
    expect((await store.listNodes()).map((node) => node.id)).toEqual(['node-a', 'node-b']);
    expect(await step(a)).toBe(true);
    expect(held(a)).toEqual(allBuckets().filter((bucket) => !bBuckets.includes(bucket)));
    await ageRows('node-b', TTL + 1000);
    expect(await step(a)).toBe(true);
    expect(a.leases.heldBuckets()).toBeUndefined();
  });

  // ---- 2. local step-down --------------------------------------------------------------------

  it('local step-down after an acquisition: held until the start of the acquiring call + ttl − margin on the node\'s clock, and not a millisecond longer', async () => {
    // The heartbeat takes 300 ms of the node's clock and the acquisition 500: the acquiring call
    // starts at T0 + 300 and ends at T0 + 800.
    const a = member('node-a', { latency: { heartbeatNode: 300, acquireBuckets: 500 } });
    await a.leases.start();
    expect(a.tickEndedAt).toBe(T0 + 800);
    a.faults.fail('renewBuckets'); // no renewal ever succeeds
    const until = T0 + 300 + VALID;

    await advanceTo(a, until - 1);
    expect(ticks(a).slice(1).length).toBeGreaterThan(0);
    expect(ticks(a).slice(1).every((ok) => !ok)).toBe(true);
    expect(a.leases.heldBuckets()).toBeUndefined();
    expect(a.leases.fence()!.terms).toHaveLength(BUCKET_COUNT);

    await advanceTo(a, until);
    expect(allBuckets().filter((bucket) => a.leases.holds(bucket))).toEqual([]);
    expect(a.leases.fence()!.terms).toEqual([]);
    expect(allBuckets().every((bucket) => a.leases.leased(bucket))).toBe(true); // lapsed, still awaiting renewal
    expect(events(a, 'lost')).toEqual([]);
    // Only the node's clock said so: the store still has every lease live, a's, in the same term.
    const leases = await liveLeases();
    expect(ownedBy(leases, 'node-a')).toEqual(allBuckets());
    expect(leases.every((lease) => lease.epoch === 1)).toBe(true);
  });

  it.each([
    ['heartbeatNode', 'fail'],
    ['heartbeatNode', 'hang'],
    ['renewBuckets', 'fail'],
    ['renewBuckets', 'hang'],
  ] as const)('local step-down when %s calls %s: held until the start of the last successful renewing tick + ttl − margin, then not', async (verb, mode) => {
    // Each call takes time on the node's clock: a renewing tick that starts at S ends at S + 700.
    const a = member('node-a', { latency: { heartbeatNode: 300, renewBuckets: 400, acquireBuckets: 500 } });
    await a.leases.start();
    const S = a.tickEndedAt + RENEW;
    expect(await step(a)).toBe(true); // a successful renewal, started at S
    expect(a.tickEndedAt).toBe(S + 700);
    const terms = fenceTerms(a);
    expect(terms).toHaveLength(BUCKET_COUNT);
    const until = S + VALID;

    const mark = a.log.length;
    if (mode === 'fail') {
      a.faults.fail(verb);
    } else {
      // The next tick starts and never ends: no later tick can run, and the clock alone decides.
      a.faults.hang(verb);
      const hanging = a.faults.hanging();
      await a.clock.set(a.tickEndedAt + RENEW);
      await hanging;
      expect(a.clock.pendingTimers).toBe(0);
    }

    await advanceTo(a, until - 1);
    if (mode === 'fail') {
      expect(ticks(a, mark).length).toBeGreaterThan(5);
      expect(ticks(a, mark).every((ok) => !ok)).toBe(true);
    } else {
      expect(ticks(a, mark)).toEqual([]);
    }
    expect(a.leases.heldBuckets()).toBeUndefined();
    expect(fenceTerms(a)).toEqual(terms);

    await advanceTo(a, until);
    expect(allBuckets().filter((bucket) => a.leases.holds(bucket))).toEqual([]);
    expect(a.leases.heldBuckets()).toEqual([]);
    expect(a.leases.fence()).toEqual({ owner: 'node-a', terms: [] });
    expect(allBuckets().every((bucket) => a.leases.leased(bucket))).toBe(true);
    expect(events(a, 'lost', mark)).toEqual([]);
    expect(events(a, 'presumed-dead')).toEqual([]);
    // The store's leases are still live and a's, in the same terms: the step-down was local.
    expect((await liveLeases()).map((lease) => [lease.bucket, lease.epoch])).toEqual(terms);

    // Once a renewal succeeds again (the store still had the leases), they are held again.
    a.faults.heal();
    if (mode === 'hang') expect((await nextTick(a)).ok).toBe(false); // the hung call timed out
    expect(await step(a)).toBe(true);
    expect(a.leases.heldBuckets()).toBeUndefined();
    expect(fenceTerms(a)).toEqual(terms);
    expect(events(a, 'presumed-dead')).toEqual([]);
  });

  // ---- 3. presumed dead ----------------------------------------------------------------------

  it('presumed dead: a node whose heartbeats failed for its TTL drops all it held on its next successful tick and rejoins with new terms', async () => {
    // a's heartbeats take 300 ms of its clock: its last successful one starts at S and ends at S + 300.
    const a = member('node-a', { latency: { heartbeatNode: 300 } });
    const b = member('node-b');
    await a.leases.start();
    await b.leases.start();
    await converge([a, b]);
    const before = epochs(await liveLeases());
    const aBuckets = held(a);
    const S = a.tickEndedAt - 300;

    a.faults.fail('heartbeatNode');
    await advanceTo(a, S + TTL);
    expect(ticks(a).slice(-11)).toEqual(Array(11).fill(false)); // S + 5300 … S + 55300
    expect(events(a, 'presumed-dead')).toEqual([]);
    expect(a.leases.nodeAlive()).toBe(false);
    expect(a.leases.heldBuckets()).toEqual([]); // stepped down at S + ttl − margin already

    // The store's time passed too: the others see a dead, and b takes a's buckets.
    await ageRows('node-a', TTL + 1000);
    const bMark = b.log.length;
    expect(await step(b)).toBe(true);
    expect(b.leases.liveNodeIds()).toEqual(['node-b']);
    const takeover = events(b, 'acquired', bMark).flatMap((entry) => entry.leases);
    expect(takeover.map((lease) => lease.bucket)).toEqual(aBuckets);
    expect(takeover.every((lease) => lease.takenOver && lease.epoch === before.get(lease.bucket)! + 1)).toBe(true);

    a.faults.heal();
    const mark = a.log.length;
    await a.leases.tick(); // at S + TTL exactly
    expect(a.log[a.log.length - 1]).toEqual({ event: 'tick', ok: true, at: S + TTL + 300 });
    // Everything it held is gone, before it does anything else; it is a member again.
    expect(a.log.slice(mark).map((entry) => entry.event).sort()).toEqual(['lost', 'presumed-dead', 'tick']);
    expect(events(a, 'presumed-dead', mark)).toEqual([{ event: 'presumed-dead', leasedThen: 0 }]);
    expect([...events(a, 'lost', mark)[0]!.buckets].sort((x, y) => x - y)).toEqual(aBuckets);
    expect(a.leases.heldBuckets()).toEqual([]);
    expect(aBuckets.some((bucket) => a.leases.leased(bucket))).toBe(false);
    expect(a.leases.fence()!.terms).toEqual([]);
    expect(a.leases.nodeAlive()).toBe(true);
    expect(a.leases.liveNodeIds().sort()).toEqual(['node-a', 'node-b']);

    // It takes a share again, only in new terms.
    await converge([b, a]);
    await expectEven([a, b]);
    const rejoined = events(a, 'acquired', mark).flatMap((entry) => entry.leases);
    expect(rejoined.map((lease) => lease.bucket).sort((x, y) => x - y)).toEqual(held(a));
    expect(rejoined.every((lease) => lease.takenOver)).toBe(true);
    const after = await liveLeases();
    for (const lease of after.filter((l) => l.owner === 'node-a')) expect(lease.epoch, `bucket ${lease.bucket}`).toBeGreaterThan(before.get(lease.bucket)!);
    expect(events(a, 'presumed-dead')).toHaveLength(1);
  });

  it('a node whose heartbeats failed for a millisecond less than its TTL is not presumed dead: it renews the terms it had', async () => {
    const a = member('node-a', { latency: { heartbeatNode: 300 } });
    await a.leases.start();
    expect(await step(a)).toBe(true);
    const S = a.tickEndedAt - 300; // the start of the last successful heartbeat
    const terms = fenceTerms(a);

    a.faults.fail('heartbeatNode');
    // nodeAlive(), like holds(), counts from the start of the last successful heartbeat.
    await advanceTo(a, S + VALID - 1);
    expect(a.leases.nodeAlive()).toBe(true);
    await advanceTo(a, S + VALID);
    expect(a.leases.nodeAlive()).toBe(false);
    expect(a.leases.heldBuckets()).toEqual([]);
    await advanceTo(a, S + TTL - 1);
    a.faults.heal();
    const mark = a.log.length;
    await a.leases.tick(); // at S + TTL − 1: the last heartbeat started TTL − 1 ago
    expect(a.log.slice(mark)).toEqual([{ event: 'tick', ok: true, at: S + TTL - 1 + 300 }]);
    expect(events(a, 'presumed-dead')).toEqual([]);
    expect(events(a, 'lost')).toEqual([]);
    expect(a.leases.nodeAlive()).toBe(true);
    expect(a.leases.heldBuckets()).toBeUndefined();
    expect(fenceTerms(a)).toEqual(terms);
    expect((await liveLeases()).map((lease) => [lease.bucket, lease.epoch])).toEqual(terms);
  });

  it('a node notices it went its TTL without a heartbeat on the first tick that starts that late, even one whose heartbeat fails, and says so once', async () => {
    const a = member('node-a');
    await a.leases.start();
    const S = a.tickEndedAt;
    a.faults.fail('heartbeatNode');
    await advanceTo(a, S + TTL - 1);
    expect(events(a, 'presumed-dead')).toEqual([]);
    expect(await step(a)).toBe(false); // at S + TTL, still failing
    expect(a.log.slice(-3).map((entry) => entry.event).sort()).toEqual(['lost', 'presumed-dead', 'tick']);
    expect(events(a, 'presumed-dead')).toEqual([{ event: 'presumed-dead', leasedThen: 0 }]);
    expect(a.leases.leased(0)).toBe(false);
    await advanceTo(a, S + 3 * TTL);
    expect(events(a, 'presumed-dead')).toHaveLength(1);
    expect(events(a, 'lost')).toHaveLength(1);
    a.faults.heal();
    const mark = a.log.length;
    expect(await step(a)).toBe(true);
    expect(events(a, 'presumed-dead', mark)).toEqual([]);
    // Its leases never expired in the store (its clock is not the store's): it gets them back
    // by acquisition, in the terms the store still has (takenOver false: nobody else held them).
    expect(a.leases.heldBuckets()).toBeUndefined();
    const back = events(a, 'acquired', mark).flatMap((entry) => entry.leases);
    expect(back).toHaveLength(BUCKET_COUNT);
    expect(back.every((lease) => lease.epoch === 1 && !lease.takenOver)).toBe(true);
  });

  // ---- 4. terms ------------------------------------------------------------------------------

  it('a new holder always starts a new term, and a renewal or release with a stale term changes nothing', async () => {
    const a = member('node-a');
    const b = member('node-b');
    await a.leases.start();
    const first = await liveLeases();
    expect(first.every((lease) => lease.owner === 'node-a' && lease.epoch === 1)).toBe(true);

    await b.leases.start();
    await converge([a, b]);
    const second = await liveLeases();
    const moved = ownedBy(second, 'node-b');
    const kept = ownedBy(second, 'node-a');
    // Renewals keep a term; a bucket that changed hands is in a new one.
    for (const lease of second) expect([lease.bucket, lease.epoch]).toEqual([lease.bucket, lease.owner === 'node-a' ? 1 : 2]);

    await b.leases.stop();
    expect(await step(a)).toBe(true);
    const third = await liveLeases();
    expect(ownedBy(third, 'node-a')).toEqual(allBuckets());
    const thirdEpochs = epochs(third);
    for (const bucket of moved) expect(thirdEpochs.get(bucket), `bucket ${bucket}: a → b → a`).toBe(3);
    for (const bucket of kept) expect(thirdEpochs.get(bucket), `bucket ${bucket}: a all along`).toBe(1);
    const x = moved[0]!;
    expect(fenceTerms(a)).toContainEqual([x, 3]);

    // Stale terms of bucket x (now a's, epoch 3): b's old one, a's own older one, one not yet
    // started. A renewal with a longer TTL would show in expiresAt, a release would expire it.
    const row = (await store.listBucketLeases()).find((lease) => lease.bucket === x);
    for (const [nodeId, epoch] of [['node-b', 2], ['node-a', 1], ['node-a', 2], ['node-a', 4]] as const) {
      expect(await store.renewBuckets({ nodeId, terms: [{ bucket: x, epoch }], ttlMs: 10 * TTL }), `renew ${nodeId}@${epoch}`).toEqual([]);
      await store.releaseBuckets({ nodeId, terms: [{ bucket: x, epoch }] });
      expect((await store.listBucketLeases()).find((lease) => lease.bucket === x), `after ${nodeId}@${epoch}`).toEqual(row);
    }
    // The current term still works, and the node keeps it.
    const mark = a.log.length;
    expect(await step(a)).toBe(true);
    expect(events(a, 'lost', mark)).toEqual([]);
    expect(a.leases.holds(x)).toBe(true);
    expect(fenceTerms(a)).toContainEqual([x, 3]);
  });

  it('a node renewing terms that ended behind its back (the store\'s clock ran ahead of its own) drops them, and the new holder\'s leases stay as they were', async () => {
    const a = member('node-a');
    const b = member('node-b');
    await a.leases.start();
    await b.leases.start();
    await converge([a, b]);
    const bBuckets = held(b);
    const stale = fenceTerms(b);
    await ageRows('node-b', TTL + 1000);
    expect(await step(a)).toBe(true); // a takes b's buckets, in new terms
    const aLeases = (await liveLeases()).map((lease) => [lease.bucket, lease.owner, lease.epoch, lease.expiresAt]);
    expect(aLeases).toHaveLength(BUCKET_COUNT);
    expect(aLeases.every(([, owner]) => owner === 'node-a')).toBe(true);

    // On its own clock b is fine, and still fences with its old terms (the store would refuse them).
    // Its buckets are still its share once it is back (a keeps the first half), so only the
    // renewal can tell it that it lost them.
    expect(b.leases.heldBuckets()).toEqual(bBuckets);
    expect(fenceTerms(b)).toEqual(stale);
    const mark = b.log.length;
    await b.leases.tick(); // no clock moved: not presumed dead
    expect(b.log.slice(mark)).toEqual([{ event: 'lost', buckets: bBuckets }, { event: 'tick', ok: true, at: b.clock.now() }]);
    expect(b.leases.fence()!.terms).toEqual([]);
    expect(bBuckets.some((bucket) => b.leases.leased(bucket))).toBe(false);
    // The renewal with the stale terms changed nothing: a's leases are as they were.
    expect((await liveLeases()).map((lease) => [lease.bucket, lease.owner, lease.epoch, lease.expiresAt])).toEqual(aLeases);
    // And the cluster settles again, b in new terms.
    await converge([a, b]);
    await expectEven([a, b]);
    for (const [bucket, epoch] of fenceTerms(b)) expect(epoch, `bucket ${bucket}`).toBe(stale.find(([x]) => x === bucket)![1]! + 2);
  });

  // ---- 5. events -----------------------------------------------------------------------------

  it('`tick` says whether the round succeeded; `acquired` comes with the leases newly held and whether each is a takeover', async () => {
    const a = member('node-a');
    const storeBefore = await store.now();
    await a.leases.start();
    // The first tick: everything acquired, in new terms, before the tick is reported.
    expect(a.log.map((entry) => entry.event)).toEqual(['acquired', 'tick']);
    const first = events(a, 'acquired')[0]!.leases;
    expect(first.map((lease) => lease.bucket)).toEqual(allBuckets());
    for (const lease of first) {
      expect(lease).toMatchObject({ owner: 'node-a', epoch: 1, takenOver: true });
      expect(lease.expiresAt).toBeGreaterThanOrEqual(storeBefore + TTL);
    }
    expect(events(a, 'tick')).toEqual([{ event: 'tick', ok: true, at: T0 }]);

    // A plain renewal acquires nothing.
    let mark = a.log.length;
    expect(await step(a)).toBe(true);
    expect(a.log.slice(mark).map((entry) => entry.event)).toEqual(['tick']);

    // Any store verb of the round failing makes it a failed tick, and nothing is lost or acquired.
    for (const verb of ['heartbeatNode', 'renewBuckets', 'listNodes', 'listBucketLeases'] as const) {
      a.faults.fail(verb);
      mark = a.log.length;
      expect(await step(a), verb).toBe(false);
      expect(a.log.slice(mark).map((entry) => entry.event), verb).toEqual(['tick']);
      a.faults.heal();
    }
    expect(await step(a)).toBe(true);
    expect(a.leases.heldBuckets()).toBeUndefined();

    // A node whose acquisition fails: a failed tick, no `acquired`.
    const b = member('node-b');
    b.faults.fail('acquireBuckets');
    await b.leases.start();
    expect(b.log).toEqual([{ event: 'tick', ok: true, at: T0 }]); // a holds everything live: nothing to acquire yet
    mark = a.log.length;
    expect(await step(a)).toBe(true); // a releases b's share
    const released = events(a, 'lost', mark).flatMap((entry) => entry.buckets);
    expect(released).toHaveLength(BUCKET_COUNT / 2);
    expect(events(a, 'acquired', mark)).toEqual([]);
    expect(await step(b)).toBe(false);
    expect(events(b, 'acquired')).toEqual([]);
    b.faults.heal();
    mark = b.log.length;
    expect(await step(b)).toBe(true);
    expect(b.log.slice(mark).map((entry) => entry.event)).toEqual(['acquired', 'tick']);
    const taken = events(b, 'acquired', mark)[0]!.leases;
    expect(taken.map((lease) => lease.bucket)).toEqual(released);
    expect(taken.every((lease) => lease.owner === 'node-b' && lease.epoch === 2 && lease.takenOver)).toBe(true);

    // The same node restarted (a new instance, same id) while its leases live: acquired again,
    // in the same terms, not a takeover.
    b.leases.halt();
    const again = member('node-b');
    await again.leases.start();
    expect(again.log.map((entry) => entry.event)).toEqual(['acquired', 'tick']);
    const kept = events(again, 'acquired')[0]!.leases;
    expect(kept.map((lease) => lease.bucket)).toEqual(released);
    expect(kept.every((lease) => lease.epoch === 2 && !lease.takenOver)).toBe(true);
  });

  // ---- 6. exclusive stores -------------------------------------------------------------------

  it.each(['postgres', 'sqlite'] as const)('exclusive mode (%s store): every bucket held, with no expiry check, whatever the node\'s clock does', async (kind) => {
    let on = store;
    if (kind === 'sqlite') {
      on = createSqliteStore({ path: ':memory:' });
      await on.open();
      extraStores.push(on);
    }
    // A node registered before, with a lease: dead, since the store admits this process only.
    const ghost = { id: 'ghost', address: null, roles: ['scheduler'], version: '0.0.9', tzVersion: '2026c', startedAt: T0 - TTL };
    await on.heartbeatNode({ node: ghost, ttlMs: TTL });
    await on.acquireBuckets({ nodeId: 'ghost', buckets: [7], ttlMs: TTL });

    const x = member('node-x', { exclusive: true, on });
    await x.leases.start();
    expect((await on.listNodes()).map((node) => node.id)).toEqual(['node-x']);
    expect(x.leases.exclusive).toBe(true);
    expect(x.leases.heldBuckets()).toBeUndefined();
    expect(x.leases.fence()).toBeUndefined();
    expect(x.leases.nodeAlive()).toBe(true);
    const acquired = events(x, 'acquired')[0]!.leases;
    expect(acquired).toHaveLength(BUCKET_COUNT);
    expect(acquired.find((lease) => lease.bucket === 7)).toMatchObject({ epoch: 2, takenOver: true });
    const terms = (await liveLeases(on)).map((lease) => [lease.bucket, lease.owner, lease.epoch]);

    // Heartbeats and renewals fail while the node's clock runs for five TTLs.
    x.faults.fail('heartbeatNode', 'renewBuckets');
    await advanceTo(x, T0 + 5 * TTL);
    expect(ticks(x).slice(1).length).toBeGreaterThanOrEqual(5 * TTL / RENEW - 1);
    expect(ticks(x).slice(1).every((ok) => !ok)).toBe(true);
    expect(allBuckets().every((bucket) => x.leases.holds(bucket))).toBe(true);
    expect(x.leases.heldBuckets()).toBeUndefined();
    expect(x.leases.fence()).toBeUndefined();
    expect(x.leases.nodeAlive()).toBe(true);
    expect(events(x, 'lost')).toEqual([]);
    expect(events(x, 'presumed-dead')).toEqual([]);

    // Back: no presumed death though its last heartbeat is five TTLs old, nothing lost or re-acquired.
    x.faults.heal();
    const mark = x.log.length;
    expect(await step(x)).toBe(true);
    expect(x.log.slice(mark).map((entry) => entry.event)).toEqual(['tick']);
    expect(x.leases.heldBuckets()).toBeUndefined();
    expect((await liveLeases(on)).map((lease) => [lease.bucket, lease.owner, lease.epoch])).toEqual(terms);
  });

  it('exclusive mode keeps every bucket when its leases expired on the store\'s clock (the process stalled past its TTL)', async () => {
    const x = member('node-x', { exclusive: true });
    await x.leases.start();
    await ageRows('node-x', TTL + 1000);
    let heldDuringTick: number[] | undefined;
    x.leases.events.once('lost', () => { heldDuringTick = x.leases.heldBuckets(); });
    const mark = x.log.length;
    expect(await step(x)).toBe(true);
    expect(x.log.slice(mark).map((entry) => entry.event)).toEqual(['tick']);
    expect(heldDuringTick).toBeUndefined();
    expect(x.leases.holds(0)).toBe(true);
    expect((await liveLeases()).filter((lease) => lease.owner === 'node-x')).toHaveLength(BUCKET_COUNT);
  });
});
