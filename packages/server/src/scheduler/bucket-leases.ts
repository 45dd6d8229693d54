/**
 * Membership and bucket leases: how scheduler nodes share the tasks, with no leader.
 *
 * Design note (the cluster protocol of DESIGN.md, as built):
 * - Every task hashes into one of BUCKET_COUNT buckets (`core/buckets.ts`). A node fires only the
 *   tasks of buckets it holds a lease on. A lease is a term `(owner, epoch)` with an expiry on the
 *   STORE's clock; a new holder always starts a new term (epoch + 1).
 * - Each tick (every `renewIntervalMs`), a node heartbeats, renews the exact terms it holds, reads
 *   the live nodes and all leases, and computes the same even assignment every node computes
 *   (`bucket-assignment.ts`). It releases what is assigned to another live node and acquires what
 *   is assigned to it and free (no lease, or expired).
 * - Local step-down: a lease counts as held only until `start of the renewing call + ttlMs −
 *   safetyMarginMs` on this node's clock. The store's expiry is at least `ttlMs` after that call
 *   started, so the node stops before its lease can lapse, whatever the clocks' offset (only their
 *   rates matter, over a few seconds).
 * - Fencing: fires are recorded with the terms held (`Store.recordFires(…, fence)`), checked in the
 *   recording transaction. A node that froze past its lease (GC, SIGSTOP) and wakes up cannot
 *   record a fire for a bucket it lost, even before it notices.
 * - A node that went longer than its TTL without a successful heartbeat was presumed dead by the
 *   others, who may have adopted its runs: it drops everything it held (`presumed-dead`) and starts
 *   over as a new member.
 * - With an exclusive store (SQLite: one process per file, enforced by a lock), the single node
 *   holds every bucket for good: no step-down, no fencing needed; leases that expired on the
 *   store's clock while the process stalled are taken again in the same tick, never let go.
 * - Same tz database: each node heartbeats its tz version (`process.versions.tz`, which decides
 *   zone offsets and so the instants of cron fires). Only nodes on the cluster's version (the most
 *   common among live nodes, ties to the oldest node: `core/cluster-tz-version.ts`) are counted in
 *   the assignment; a node on another version releases what it holds, takes nothing and says why
 *   in its log, until the versions agree again. It stays a member (its API and the runs it
 *   supervises go on).
 * Defaults: TTL 3 s, renew every 1 s, margin 1 s: a dead node's buckets are taken over within
 * TTL + one tick ≈ 4 s.
 */
import { EventEmitter } from 'node:events';
import { BUCKET_COUNT } from '../core/buckets.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { clusterTzVersion, followsClusterTz } from '../core/cluster-tz-version.ts';
import type { AcquiredLease, Fence, Store } from '../store/store.ts';
import { assignBuckets } from './bucket-assignment.ts';

export interface BucketLeaseOptions {
  store: Store;
  /** Real time (leases are about real time even when a test drives the scheduler's clock). */
  clock: Clock;
  nodeId: string;
  node: { address: () => string | null; roles: string[]; version: string; startedAt: number };
  /**
   * The version of the tz database this node computes zone offsets with: a node whose version
   * differs from the cluster's takes no buckets. Injectable so that tests can run nodes of
   * different versions in one process. @default process.versions.tz (null when absent)
   */
  tzVersion?: string | null;
  /** The store admits one process (SQLite): hold every bucket without expiry checks. @default false */
  exclusive?: boolean;
  /** Lease and node TTL. @default 3000 */
  ttlMs?: number;
  /** @default 1000 */
  renewIntervalMs?: number;
  /** Stop using a lease this long before it could expire. @default 1000 */
  safetyMarginMs?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

export interface BucketLeaseEvents {
  /** Buckets newly held (after a start, a rebalance or a takeover). */
  acquired: [AcquiredLease[]];
  /** Buckets no longer held: released to another node, or a renewal failed. */
  lost: [number[]];
  /** This node went longer than its TTL without a heartbeat: everything it held is gone. */
  'presumed-dead': [];
  /** A tick finished (successfully or not). */
  tick: [{ ok: boolean }];
}

interface Held {
  epoch: number;
  /** Local time after which this lease must not be used. */
  validUntil: number;
}

export class BucketLeases {
  readonly events = new EventEmitter<BucketLeaseEvents>();
  readonly #o: Required<Omit<BucketLeaseOptions, 'log'>> & Pick<BucketLeaseOptions, 'log'>;
  readonly #held = new Map<number, Held>();
  #liveNodeIds: string[] = [];
  /** The cluster's tz version as of the last tick (this node's own until then). */
  #clusterTzVersion: string | null;
  /** Why this node takes no buckets (its tz version differs), as last logged; null when it takes its share. */
  #tzRefusal: string | null = null;
  /** Local time at the start of the last successful heartbeat. */
  #lastBeatAt: number | null = null;
  #timer: TimerHandle | null = null;
  #ticking: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(options: BucketLeaseOptions) {
    this.#o = { exclusive: false, ttlMs: 3000, renewIntervalMs: 1000, safetyMarginMs: 1000, tzVersion: process.versions.tz ?? null, ...options };
    this.#clusterTzVersion = this.#o.tzVersion;
    if (this.#o.safetyMarginMs >= this.#o.ttlMs || this.#o.renewIntervalMs >= this.#o.ttlMs - this.#o.safetyMarginMs) {
      throw new RangeError('bucket leases: need renewIntervalMs < ttlMs − safetyMarginMs');
    }
  }

  get nodeId(): string {
    return this.#o.nodeId;
  }

  /** The only node of an exclusive store: there is nobody to hand buckets or runs to. */
  get exclusive(): boolean {
    return this.#o.exclusive;
  }

  /** True while this node's own heartbeat is fresh enough that no other node presumes it dead. */
  nodeAlive(): boolean {
    if (this.#o.exclusive) return true;
    return this.#lastBeatAt !== null && this.#o.clock.now() < this.#lastBeatAt + this.#o.ttlMs - this.#o.safetyMarginMs;
  }

  /** Held under a lease, valid or lapsed locally while waiting for its renewal. */
  leased(bucket: number): boolean {
    return this.#held.has(bucket);
  }

  holds(bucket: number): boolean {
    const held = this.#held.get(bucket);
    return held !== undefined && (this.#o.exclusive || this.#o.clock.now() < held.validUntil);
  }

  /** The buckets held now; undefined when every bucket is (no filter needed). */
  heldBuckets(): number[] | undefined {
    const buckets = [...this.#held.keys()].filter((bucket) => this.holds(bucket)).sort((a, b) => a - b);
    return buckets.length === BUCKET_COUNT ? undefined : buckets;
  }

  /** The fence for recording fires; undefined with an exclusive store. */
  fence(): Fence | undefined {
    if (this.#o.exclusive) return undefined;
    return { owner: this.#o.nodeId, terms: [...this.#held].filter(([bucket]) => this.holds(bucket)).map(([bucket, held]) => ({ bucket, epoch: held.epoch })) };
  }

  /** This node's tz database version (`process.versions.tz` unless injected). */
  get tzVersion(): string | null {
    return this.#o.tzVersion;
  }

  /** The cluster's tz database version as of the last tick (see `core/cluster-tz-version.ts`). */
  clusterTzVersion(): string | null {
    return this.#clusterTzVersion;
  }

  /** False while this node's tz version differs from the cluster's: it then takes no buckets. */
  followsClusterTz(): boolean {
    return followsClusterTz(this.#o.tzVersion, this.#clusterTzVersion);
  }

  /** Live nodes as of the last tick, this one included. */
  liveNodeIds(): string[] {
    return this.#liveNodeIds;
  }

  /** Registers, takes a first share of buckets, and keeps ticking. */
  async start(): Promise<void> {
    this.#stopped = false;
    if (this.#o.exclusive) {
      // The store's lock proves that no other process uses it: whoever registered before is dead.
      for (const node of await this.#o.store.listNodes()) if (node.id !== this.#o.nodeId) await this.#o.store.removeNode({ nodeId: node.id });
    }
    await this.tick();
  }

  /** Stops ticking, releases every lease and leaves the cluster, so that others take over at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) this.#o.clock.clearTimer(this.#timer);
    await this.#ticking;
    const terms = [...this.#held].map(([bucket, held]) => ({ bucket, epoch: held.epoch }));
    this.#drop([...this.#held.keys()]);
    try {
      await this.#o.store.releaseBuckets({ nodeId: this.#o.nodeId, terms });
      await this.#o.store.removeNode({ nodeId: this.#o.nodeId });
    } catch (error) {
      this.#o.log?.('warn', 'leaving the cluster failed; its leases were released, and other nodes count it out once its registration lapses', { error: String(error) });
    }
  }

  /** Stops ticking without a word to the store: a crash, as other nodes see it (tests). */
  halt(): void {
    this.#stopped = true;
    if (this.#timer) this.#o.clock.clearTimer(this.#timer);
  }

  /** One round: heartbeat, renew, rebalance. Ticks never overlap. */
  tick(): Promise<void> {
    this.#ticking = this.#ticking.then(() => this.#tick());
    return this.#ticking;
  }

  async #tick(): Promise<void> {
    if (this.#timer) this.#o.clock.clearTimer(this.#timer);
    let ok = false;
    try {
      await this.#round();
      ok = true;
    } catch (error) {
      this.#o.log?.('warn', 'cluster heartbeat failed', { error: String(error) });
    }
    this.events.emit('tick', { ok });
    if (!this.#stopped) this.#timer = this.#o.clock.setTimer(() => void this.tick(), this.#o.renewIntervalMs);
  }

  async #round(): Promise<void> {
    const { store, nodeId, ttlMs, safetyMarginMs, clock } = this.#o;
    const started = clock.now();
    if (!this.#o.exclusive && this.#lastBeatAt !== null && started >= this.#lastBeatAt + ttlMs) {
      this.#o.log?.('warn', 'this node went longer than its TTL without a heartbeat: dropping all it held', { silentMs: started - this.#lastBeatAt });
      this.#lastBeatAt = null;
      this.#drop([...this.#held.keys()]);
      this.events.emit('presumed-dead');
    }
    const me = await store.heartbeatNode({
      node: {
        id: nodeId, address: this.#o.node.address(), roles: this.#o.node.roles, version: this.#o.node.version, tzVersion: this.#o.tzVersion,
        startedAt: this.#o.node.startedAt,
      },
      ttlMs,
    });
    this.#lastBeatAt = started;
    const dbNow = me.heartbeatAt;

    if (this.#held.size > 0) {
      const lapsedFor = Math.max(0, ...[...this.#held.values()].map((held) => started - held.validUntil));
      if (lapsedFor > 0 && !this.#o.exclusive) {
        this.#o.log?.('warn', 'leases lapsed locally before their renewal (a slow tick): their fires waited', { lapsedForMs: lapsedFor });
      }
      const renewed = await store.renewBuckets({ nodeId, ttlMs, terms: [...this.#held].map(([bucket, held]) => ({ bucket, epoch: held.epoch })) });
      const kept = new Set(renewed.map((lease) => lease.bucket));
      for (const lease of renewed) this.#held.set(lease.bucket, { epoch: lease.epoch, validUntil: started + ttlMs - safetyMarginMs });
      let lost = [...this.#held.keys()].filter((bucket) => !kept.has(bucket));
      if (this.#o.exclusive && lost.length > 0) {
        // The only node of its store, stalled past its TTL on the store's clock (asleep, stopped):
        // nobody else can have taken its buckets, so it takes them again without letting go.
        const again = await store.acquireBuckets({ nodeId, buckets: lost, ttlMs });
        for (const lease of again) this.#held.set(lease.bucket, { epoch: lease.epoch, validUntil: started + ttlMs - safetyMarginMs });
        const retaken = new Set(again.map((lease) => lease.bucket));
        lost = lost.filter((bucket) => !retaken.has(bucket));
      }
      this.#drop(lost);
    }

    const [nodes, leases] = await Promise.all([store.listNodes(), store.listBucketLeases()]);
    const liveNodes = nodes.filter((node) => node.expiresAt > dbNow && node.id !== nodeId).concat(me);
    this.#liveNodeIds = liveNodes.map((node) => node.id);
    const views = leases.map((lease) => ({ bucket: lease.bucket, owner: lease.owner, live: lease.expiresAt > dbNow }));
    let assignment: Map<number, string>;
    if (this.#o.exclusive) {
      assignment = new Map<number, string>(Array.from({ length: BUCKET_COUNT }, (_, b) => [b, nodeId]));
    } else {
      // Only the nodes on the cluster's tz version share the buckets: this one too, or not.
      this.#clusterTzVersion = clusterTzVersion(liveNodes);
      this.#noteTzAgreement(liveNodes.length);
      const sharing = liveNodes.filter((node) => followsClusterTz(node.tzVersion, this.#clusterTzVersion)).map((node) => node.id);
      assignment = assignBuckets(sharing, views, BUCKET_COUNT);
    }

    const release = [...this.#held.keys()].filter((bucket) => assignment.get(bucket) !== nodeId);
    if (release.length > 0) {
      const terms = release.map((bucket) => ({ bucket, epoch: this.#held.get(bucket)!.epoch }));
      this.#drop(release);
      await store.releaseBuckets({ nodeId, terms });
    }

    const leased = new Map(views.map((view) => [view.bucket, view]));
    const wanted = [...assignment].filter(([bucket, owner]) => owner === nodeId && !this.#held.has(bucket))
      .map(([bucket]) => bucket)
      .filter((bucket) => { const view = leased.get(bucket); return view === undefined || !view.live || view.owner === nodeId; });
    if (wanted.length > 0) {
      const asked = clock.now();
      const acquired = await store.acquireBuckets({ nodeId, buckets: wanted, ttlMs });
      for (const lease of acquired) this.#held.set(lease.bucket, { epoch: lease.epoch, validUntil: asked + ttlMs - safetyMarginMs });
      if (acquired.length > 0) this.events.emit('acquired', acquired);
    }
  }

  /** Logs once when this node starts or stops refusing buckets for its tz version, and why. */
  #noteTzAgreement(liveCount: number): void {
    const own = this.#o.tzVersion;
    const cluster = this.#clusterTzVersion;
    const refusal = followsClusterTz(own, cluster) ? null : `${own}:${cluster}`;
    if (refusal === this.#tzRefusal) return;
    if (refusal !== null) {
      this.#o.log?.('warn', `this node's tz database (${own}) differs from the cluster's (${cluster}): it takes no buckets, so it fires no task, `
        + 'until they agree (cron fires in some zones would differ between the versions); run every scheduler node on the same Node.js build',
      { tzVersion: own, clusterTzVersion: cluster, liveNodes: liveCount });
    } else {
      this.#o.log?.('info', `this node's tz database (${own}) is the cluster's again: it takes its share of buckets`, { tzVersion: own, clusterTzVersion: cluster });
    }
    this.#tzRefusal = refusal;
  }

  #drop(buckets: number[]): void {
    if (buckets.length === 0) return;
    for (const bucket of buckets) this.#held.delete(bucket);
    this.events.emit('lost', buckets);
  }
}
