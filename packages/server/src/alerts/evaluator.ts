/**
 * The alert evaluator (issue 19): one node of the cluster at a time (a lease in the store) reads
 * the event log from the cursor kept beside the incidents, observes each rule's condition
 * (`conditions.ts`) and applies what it saw with {@link Store.applyAlertChanges}: the cursor moves
 * and the incidents open or resolve, with their notifications, in one transaction. An event is
 * therefore evaluated once for the cluster, whatever node crashes or takes over. Between batches
 * the same node runs the periodic checks (`periodic-checks.ts`) and the repeats of open incidents.
 *
 * The notifications it writes are sent by every node's {@link AlertNotifier} (`notifier.ts`).
 */
import type { RunStatus } from '@ecron/contracts';
import { systemClock, type Clock } from '../core/clock.ts';
import type { ScheduledRecord } from '../core/model.ts';
import { MAX_PAGE_LIMIT } from '../store/pagination.ts';
import type { AlertChange, AlertEvaluatorState, AlertSubject, IncidentRecord, NotificationDraft, NotificationTarget } from '../store/alert-incidents.ts';
import type { AlertRuleRecord } from '../store/alerts-config.ts';
import type { AlertSilenceRecord } from '../store/alert-silences.ts';
import type { EventRecord, Store } from '../store/store.ts';
import {
  EVENT_KINDS, FAILED_STATUSES, FINAL_STATUSES, observeFailureRate, observeNodeEvent, observeRunEvent, ruleCovers, runEvent,
  type Observation, type RunHistory, type ScopedTask,
} from './conditions.ts';
import { silencedBy } from './silences.ts';
import { liveExecutors, missedFireWindow, observeLongRunning, observeMissedFires, scopedTask } from './periodic-checks.ts';
import { TickLoop } from './tick-loop.ts';

export interface AlertEvaluatorOptions {
  store: Store;
  nodeId: string;
  clock?: Clock;
  /**
   * How long the evaluator's lease lasts without renewal: how long the cluster goes without an
   * evaluator after the holder dies. The holder renews it at every pass and before every write
   * once a third of it has gone. @default 5000
   */
  leaseTtlMs?: number;
  /** How often the holder reads the log (and others try to take the lease). @default 250 */
  pollMs?: number;
  /** How often the periodic checks run. @default 1000 */
  checkEveryMs?: number;
  /** How long rules, channels and tasks are cached. @default 2000 */
  cacheMs?: number;
  /** Events read per transaction. @default 1000 */
  batchSize?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

const pairKey = (ruleId: string, subject: { kind: string; id: string }): string => `${ruleId}|${subject.kind}:${subject.id}`;

export class AlertEvaluator {
  readonly #o: Required<AlertEvaluatorOptions>;
  readonly #loop: TickLoop<void>;
  #holding = false;
  /** When this node last took or renewed the lease (its clock). */
  #claimedAt = -Infinity;
  #failing = false;
  #rules: { at: number; rules: AlertRuleRecord[]; targets: Map<string, NotificationTarget[]> } | null = null;
  #unresolvedAt = -Infinity;
  /** The silences in force when the rules were last loaded (a silence is checked against its window at each change). */
  #silences: AlertSilenceRecord[] = [];
  readonly #tasks = new Map<string, { at: number; task: ScopedTask | null }>();
  /** Pairs (rule, subject) with an incident not resolved: known to the holder, to spare no-op writes. */
  #unresolved = new Map<string, IncidentRecord>();
  #lastCheckAt = -Infinity;
  /** no-executor: since when each rule's group has had no live node (this holder's view). */
  readonly #emptySince = new Map<string, number>();

  constructor(options: AlertEvaluatorOptions) {
    this.#o = {
      clock: systemClock, leaseTtlMs: 5000, pollMs: 250, checkEveryMs: 1000, cacheMs: 2000, batchSize: 1000, log: () => {}, ...options,
    };
    this.#loop = new TickLoop(this.#o.clock, () => this.#pass(), () => this.#o.pollMs);
  }

  start(): void {
    this.#loop.start();
  }

  async stop(): Promise<void> {
    await this.#loop.stop();
    if (this.#holding) await this.#o.store.releaseAlertEvaluator({ owner: this.#o.nodeId }).catch(() => {});
    this.#holding = false;
  }

  /** One pass now: take or renew the lease, evaluate the log to its end, run the checks when due (tests). */
  tick(): Promise<void> {
    return this.#loop.tick();
  }

  /** Forgets cached rules, channels and tasks (a rule or channel changed on this node). */
  invalidate(): void {
    this.#rules = null;
    this.#tasks.clear();
  }

  async #pass(): Promise<void> {
    try {
      const state = await this.#claim();
      if (!state) {
        if (this.#holding) this.#o.log('info', 'another node evaluates the alert rules now');
        this.#holding = false;
        return;
      }
      if (!this.#holding) {
        this.#o.log('info', 'this node evaluates the alert rules', { cursor: state.cursor });
        this.#lastCheckAt = -Infinity;
      }
      this.#holding = true;
      if (!(await this.#evaluateLog(state))) return;
      const now = this.#o.clock.now();
      if (now - this.#lastCheckAt >= this.#o.checkEveryMs) {
        this.#lastCheckAt = now;
        await this.#periodic(state, await this.#loadRules(), now);
      }
      if (this.#failing) this.#o.log('info', 'the alert evaluator works again');
      this.#failing = false;
    } catch (error) {
      if (!this.#failing) this.#o.log('warn', 'the alert evaluator failed; retrying', { error: String(error) });
      this.#failing = true;
    }
  }

  async #claim(): Promise<AlertEvaluatorState | null> {
    const store = this.#o.store;
    const state = await store.claimAlertEvaluator({ owner: this.#o.nodeId, ttlMs: this.#o.leaseTtlMs, initialCursor: await store.lastEventSeq() });
    if (state) this.#claimedAt = this.#o.clock.now();
    return state;
  }

  /**
   * The enabled rules, their channels and the silences in force, read again when older than
   * `cacheMs` or than `notBefore` (the time of the newest event about to be evaluated: a rule
   * created just before a change must see it). The incidents not resolved are read again every
   * `cacheMs` (this node keeps them up to date itself; others may resolve one by hand).
   */
  async #loadRules(notBefore = -Infinity): Promise<{ at: number; rules: AlertRuleRecord[]; targets: Map<string, NotificationTarget[]> }> {
    const store = this.#o.store;
    const now = this.#o.clock.now();
    if (now - this.#unresolvedAt >= this.#o.cacheMs) {
      this.#unresolved = new Map((await store.listUnresolvedIncidents()).map((incident) => [pairKey(incident.ruleId, incident.subject), incident]));
      this.#unresolvedAt = now;
    }
    if (this.#rules && now - this.#rules.at < this.#o.cacheMs && this.#rules.at > notBefore) return this.#rules;
    const rules = (await store.listEnabledAlertRules()).filter((rule) => rule.enabled);
    const byNamespace = new Map<string, Set<string>>();
    for (const rule of rules) byNamespace.set(rule.namespace, new Set([...(byNamespace.get(rule.namespace) ?? []), ...rule.channels]));
    const channelIds = new Map<string, string>();
    for (const [namespace, names] of byNamespace) {
      for (const channel of await store.getAlertChannelsByName({ namespace, names: [...names] })) channelIds.set(`${namespace}/${channel.name}`, channel.id);
    }
    const targets = new Map(rules.map((rule) => [rule.id, rule.channels.flatMap((name) => {
      const id = channelIds.get(`${rule.namespace}/${name}`);
      return id === undefined ? [] : [{ channelId: id }];
    })]));
    this.#silences = await store.listActiveAlertSilences({ at: now });
    this.#rules = { at: now, rules, targets };
    return this.#rules;
  }

  /** Evaluates the log from the cursor to its end; false when the lease was lost on the way. */
  async #evaluateLog(state: AlertEvaluatorState): Promise<boolean> {
    for (;;) {
      const events = await this.#o.store.readEvents({ after: state.cursor, limit: this.#o.batchSize });
      if (events.length === 0) return true;
      // Rules read after the newest event of the batch was written (rules loaded less than a
      // second after it are read again, a margin for the clocks of nodes and database): a rule
      // created before a change always sees it.
      const loaded = await this.#loadRules(events.at(-1)!.at + 1000);
      const eventRules = loaded.rules.filter((rule) => EVENT_KINDS.has(rule.on));
      const observations: Observation[] = [];
      for (const event of events) observations.push(...(await this.#observe(eventRules, event)));
      const to = events.at(-1)!.seq;
      if (!(await this.#apply(state, to, observations, loaded.targets))) return false;
      if (events.length < this.#o.batchSize) return true;
    }
  }

  async #observe(rules: AlertRuleRecord[], event: EventRecord): Promise<Observation[]> {
    const found: Observation[] = [];
    if (event.namespace === null) {
      for (const rule of rules) {
        const observation = observeNodeEvent(rule, event);
        if (observation) found.push(observation);
      }
      return found;
    }
    if (!runEvent(event)) return found;
    const inNamespace = rules.filter((rule) => rule.namespace === event.namespace && rule.on !== 'node-lost');
    if (inNamespace.length === 0) return found;
    const task = await this.#task(event.taskId!);
    if (!task) return found;
    for (const rule of inNamespace) {
      if (!ruleCovers(rule, task)) continue;
      const observation = await observeRunEvent(rule, task, event, this.#history, this.#o.clock.now());
      if (observation) found.push(observation);
    }
    return found;
  }

  readonly #history: RunHistory = {
    lastEnded: async (taskId, limit) => {
      const page = await this.#o.store.listRuns({ taskId, statuses: [...FINAL_STATUSES], limit });
      return page.items.map((run) => run.status);
    },
    endedSince: async (taskId, since, cap) => {
      let ended = 0;
      let failed = 0;
      let cursor: string | null = null;
      do {
        const page = await this.#o.store.listRuns({ taskId, statuses: [...FINAL_STATUSES], from: since, cursor, limit: MAX_PAGE_LIMIT });
        for (const run of page.items) {
          ended++;
          if (FAILED_STATUSES.includes(run.status as RunStatus)) failed++;
        }
        cursor = page.nextCursor;
      } while (cursor !== null && ended < cap);
      return { ended, failed };
    },
  };

  async #task(id: string): Promise<ScopedTask | null> {
    const now = this.#o.clock.now();
    const cached = this.#tasks.get(id);
    if (cached && now - cached.at < this.#o.cacheMs * 5) return cached.task;
    const record = await this.#o.store.getScheduled(id);
    const task = record ? scopedTask(record) : null;
    if (this.#tasks.size > 100_000) this.#tasks.clear();
    this.#tasks.set(id, { at: now, task });
    return task;
  }

  /** Applies `observations` with the cursor moving to `to`; false when the lease was lost. */
  async #apply(state: AlertEvaluatorState, to: number, observations: Observation[], targets: Map<string, NotificationTarget[]>, checkedThrough?: number): Promise<boolean> {
    // A long pass (a check after an outage) renews the lease before it writes, rather than lose it.
    if (this.#o.clock.now() - this.#claimedAt > this.#o.leaseTtlMs / 3 && !(await this.#claim())) {
      this.#holding = false;
      this.#rules = null;
      return false;
    }
    const at = this.#o.clock.now();
    const changes = await this.#changesOf(observations, targets, at);
    const result = await this.#o.store.applyAlertChanges({ owner: this.#o.nodeId, from: state.cursor, to, at, changes, ...(checkedThrough !== undefined ? { checkedThrough } : {}) });
    if (!result.applied) {
      this.#holding = false;
      this.#rules = null;
      return false;
    }
    state.cursor = to;
    if (checkedThrough !== undefined) state.checkedThrough = checkedThrough;
    for (const incident of result.opened) this.#unresolved.set(pairKey(incident.ruleId, incident.subject), incident);
    for (const incident of result.resolved) this.#unresolved.delete(pairKey(incident.ruleId, incident.subject));
    return true;
  }

  /**
   * The changes worth writing: a fire of a pair already open, or a clear of one not open, is left
   * out. A subject under a silence still opens and resolves incidents, with no notification.
   */
  async #changesOf(observations: Observation[], targets: Map<string, NotificationTarget[]>, at: number): Promise<AlertChange[]> {
    const open = new Set(this.#unresolved.keys());
    const changes: AlertChange[] = [];
    for (const o of observations) {
      const key = pairKey(o.rule.id, o.subject);
      const to = (await this.#silenced(o.rule, o.subject, at)) ? [] : targets.get(o.rule.id) ?? [];
      if (o.kind === 'fire') {
        if (open.has(key)) continue;
        open.add(key);
        changes.push({
          kind: 'fire', ruleId: o.rule.id, ruleName: o.rule.name, on: o.rule.on, namespace: o.rule.namespace, subject: o.subject,
          severity: o.rule.severity, summary: o.summary, details: o.details, targets: to, notification: draftOf(o, 'firing', at),
        });
      } else {
        if (!open.has(key)) continue;
        open.delete(key);
        changes.push({
          kind: 'clear', ruleId: o.rule.id, subject: o.subject, summary: o.summary, details: o.details,
          targets: o.rule.sendResolved ? to : [], notification: { summary: o.summary, details: o.details, at: new Date(at).toISOString() },
        });
      }
    }
    return changes;
  }

  async #silenced(rule: AlertRuleRecord, subject: AlertSubject, at: number): Promise<boolean> {
    if (!this.#silences.some((silence) => silence.namespace === rule.namespace)) return false;
    const task = subject.kind === 'task' || subject.kind === 'workflow' ? await this.#task(subject.id) : null;
    return silencedBy(this.#silences, { ruleId: rule.id, namespace: rule.namespace, subject, task, at }) !== null;
  }

  async #periodic(state: AlertEvaluatorState, loaded: { rules: AlertRuleRecord[]; targets: Map<string, NotificationTarget[]> }, now: number): Promise<void> {
    const previous = state.checkedThrough ?? now;
    const observations: Observation[] = [];
    for (const rule of loaded.rules) {
      switch (rule.on) {
        case 'missed-fire': observations.push(...(await this.#missedFires(rule, previous, now))); break;
        case 'long-running': observations.push(...(await this.#longRunning(rule, now))); break;
        case 'no-executor': observations.push(...(await this.#noExecutor(rule, now))); break;
        case 'failure-rate': observations.push(...(await this.#failureRates(rule, now))); break;
        default: break;
      }
    }
    if (!(await this.#apply(state, state.cursor, observations, loaded.targets, now))) return;
    await this.#repeat(loaded, now);
  }

  async #missedFires(rule: AlertRuleRecord, previous: number, now: number): Promise<Observation[]> {
    const window = missedFireWindow(rule, previous, now);
    if (window.through <= window.after) return [];
    const tasks: ScheduledRecord[] = [
      ...await this.#all((cursor) => this.#o.store.listTasks({ namespace: rule.namespace, state: 'active', cursor, limit: MAX_PAGE_LIMIT })),
      ...await this.#all((cursor) => this.#o.store.listWorkflows({ namespace: rule.namespace, state: 'active', cursor, limit: MAX_PAGE_LIMIT })),
    ];
    // A workflow's fire is its workflow run (taskId: the workflow).
    const runs = await this.#all((cursor) => this.#o.store.listRuns({ namespace: rule.namespace, from: window.after + 1, to: window.through + 1, cursor, limit: MAX_PAGE_LIMIT }));
    const byTask = new Map<string, typeof runs>();
    for (const run of runs) byTask.set(run.taskId, [...(byTask.get(run.taskId) ?? []), run]);
    return observeMissedFires({ rule, tasks, previous, now, runsOf: (taskId) => byTask.get(taskId) ?? [] });
  }

  async #longRunning(rule: AlertRuleRecord, now: number): Promise<Observation[]> {
    const running = await this.#all((cursor) => this.#o.store.listRuns({ namespace: rule.namespace, status: 'running', cursor, limit: MAX_PAGE_LIMIT }));
    const tasks = new Map<string, ScopedTask>();
    for (const run of running) {
      const task = await this.#task(run.taskId);
      if (task) tasks.set(run.taskId, task);
    }
    const fired = observeLongRunning(rule, running, tasks, now);
    // Open incidents of the rule whose task has no such run any more: cleared.
    const firing = new Set(fired.map((o) => o.subject.id));
    const cleared: Observation[] = [...this.#unresolved.values()]
      .filter((incident) => incident.ruleId === rule.id && !firing.has(incident.subject.id))
      .map((incident) => ({ rule, subject: incident.subject, kind: 'clear' as const, summary: `no run of ${incident.subject.kind} ${incident.subject.name} runs longer than the limit any more`, details: {} }));
    return [...fired, ...cleared];
  }

  async #noExecutor(rule: AlertRuleRecord, now: number): Promise<Observation[]> {
    const group = String(rule.params.group);
    const live = liveExecutors(rule, await this.#o.store.listExecutors({ group }), now);
    const subject = { kind: 'group' as const, id: `${rule.namespace}/${group}`, name: group };
    if (live > 0) {
      this.#emptySince.delete(rule.id);
      return [{ rule, subject, kind: 'clear', summary: `executor group ${rule.namespace}/${group} has ${live} live node${live === 1 ? '' : 's'}`, details: { live } }];
    }
    const since = this.#emptySince.get(rule.id) ?? now;
    this.#emptySince.set(rule.id, since);
    const forMs = Number(rule.params.forMs ?? 60_000);
    if (now - since < forMs) return [];
    return [{ rule, subject, kind: 'fire', summary: `executor group ${rule.namespace}/${group} has had no live node for ${now - since} ms`, details: { emptyForMs: now - since, forMs } }];
  }

  /** The open failure-rate incidents, again: the window slid, the rate may have fallen. */
  async #failureRates(rule: AlertRuleRecord, now: number): Promise<Observation[]> {
    const observations: Observation[] = [];
    for (const incident of this.#unresolved.values()) {
      if (incident.ruleId !== rule.id) continue;
      const task = await this.#task(incident.subject.id);
      if (task) observations.push(await observeFailureRate(rule, task, this.#history, now));
    }
    return observations;
  }

  async #repeat(loaded: { rules: AlertRuleRecord[]; targets: Map<string, NotificationTarget[]> }, now: number): Promise<void> {
    const rules = new Map(loaded.rules.map((rule) => [rule.id, rule]));
    const items = [];
    for (const incident of this.#unresolved.values()) {
      const rule = rules.get(incident.ruleId);
      if (!rule || rule.repeatIntervalMs === null || incident.state !== 'open') continue;
      const notifiedBefore = now - rule.repeatIntervalMs;
      if ((incident.lastNotifiedAt ?? incident.openedAt) > notifiedBefore || (await this.#silenced(rule, incident.subject, now))) continue;
      items.push({
        incidentId: incident.id, notifiedBefore, targets: loaded.targets.get(rule.id) ?? [],
        notification: {
          state: 'repeat', severity: incident.severity, rule: { name: rule.name, on: rule.on }, subject: incident.subject, namespace: incident.namespace,
          summary: incident.summary, details: incident.details, at: new Date(now).toISOString(),
        } satisfies NotificationDraft,
      });
    }
    if (items.length === 0) return;
    const repeated = new Set(await this.#o.store.repeatAlertIncidents({ items, at: now }));
    for (const incident of this.#unresolved.values()) if (repeated.has(incident.id)) incident.lastNotifiedAt = now;
  }

  async #all<T>(page: (cursor: string | null) => Promise<{ items: T[]; nextCursor: string | null }>): Promise<T[]> {
    const items: T[] = [];
    let cursor: string | null = null;
    do {
      const next = await page(cursor);
      items.push(...next.items);
      cursor = next.nextCursor;
    } while (cursor !== null);
    return items;
  }
}


function draftOf(o: Observation, state: NotificationDraft['state'], at: number): NotificationDraft {
  return {
    state, severity: o.rule.severity, rule: { name: o.rule.name, on: o.rule.on }, subject: o.subject, namespace: o.rule.namespace,
    summary: o.summary, details: o.details, at: new Date(at).toISOString(),
  };
}
