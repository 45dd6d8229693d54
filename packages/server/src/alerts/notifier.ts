/**
 * Sends alert notifications (issue 19). Every node runs one: it leases due notifications from the
 * store ({@link Store.claimAlertNotifications}), sends each through its channel
 * (`channels/senders.ts`) and records the outcome under its lease: sent, or retried with
 * exponential backoff (1 s doubling to 5 min, jittered), and given up after `maxAttempts`. The
 * channel keeps its last error (or its last success). A notification's id travels with it (the
 * webhook's `x-ecron-delivery` and `Idempotency-Key`), so a receiver can drop the copy a node that
 * crashed between the send and its record leaves to be sent again.
 */
import { retryDelay } from '../core/backoff.ts';
import { systemClock, systemRandom, type Clock, type Random } from '../core/clock.ts';
import type { NotificationRecord } from '../store/alert-incidents.ts';
import type { Store } from '../store/store.ts';
import type { AlertChannelTarget } from './channels/channel-sender.ts';
import type { AlertChannelSenders } from './channels/senders.ts';
import { TickLoop } from './tick-loop.ts';

export interface AlertNotifierOptions {
  store: Store;
  senders: AlertChannelSenders;
  nodeId: string;
  clock?: Clock;
  random?: Random;
  /** How often due notifications are looked for. @default 500 */
  pollMs?: number;
  /** How long a claimed notification stays this node's. @default 60000 */
  leaseTtlMs?: number;
  /** Notifications claimed at once. @default 50 */
  batchSize?: number;
  /** Sends of one notification before it is given up (failed). @default 10 */
  maxAttempts?: number;
  backoff?: { initialMs: number; maxMs: number };
  log?: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

export interface NotifierOutcome {
  id: string;
  outcome: 'sent' | 'retry' | 'failed';
  error?: string;
}

export class AlertNotifier {
  readonly #o: Required<AlertNotifierOptions>;
  readonly #loop: TickLoop<NotifierOutcome[]>;
  #failing = false;

  constructor(options: AlertNotifierOptions) {
    this.#o = {
      clock: systemClock, random: systemRandom, pollMs: 500, leaseTtlMs: 60_000, batchSize: 50, maxAttempts: 10,
      backoff: { initialMs: 1000, maxMs: 300_000 }, log: () => {}, ...options,
    };
    // A full batch: more may be due at once.
    this.#loop = new TickLoop(this.#o.clock, () => this.#pass(), (outcomes) => (outcomes.length >= this.#o.batchSize ? 0 : this.#o.pollMs));
  }

  start(): void {
    this.#loop.start();
  }

  stop(): Promise<void> {
    return this.#loop.stop();
  }

  /** Claims and sends what is due now (tests); resolves with each notification's outcome. */
  tick(): Promise<NotifierOutcome[]> {
    return this.#loop.tick();
  }

  async #pass(): Promise<NotifierOutcome[]> {
    try {
      const due = await this.#o.store.claimAlertNotifications({ owner: this.#o.nodeId, now: this.#o.clock.now(), ttlMs: this.#o.leaseTtlMs, limit: this.#o.batchSize });
      const outcomes = await Promise.all(due.map((notification) => this.#send(notification)));
      if (this.#failing) this.#o.log('info', 'the alert notifier works again');
      this.#failing = false;
      return outcomes.filter((o): o is NotifierOutcome => o !== null);
    } catch (error) {
      if (!this.#failing) this.#o.log('warn', 'the alert notifier failed; retrying', { error: String(error) });
      this.#failing = true;
      return [];
    }
  }

  async #send(notification: NotificationRecord): Promise<NotifierOutcome | null> {
    const store = this.#o.store;
    const channel = await store.getAlertChannel(notification.channelId);
    let error: string | null = null;
    if (!channel) {
      error = 'ALERT_CHANNEL_NOT_FOUND: the channel was deleted';
    } else {
      try {
        await this.#o.senders.send(channel as unknown as AlertChannelTarget, notification.payload);
      } catch (failure) {
        error = failure instanceof Error ? `${(failure as { code?: string }).code ?? 'ERROR'}: ${failure.message}` : String(failure);
      }
    }
    const at = this.#o.clock.now();
    const attempts = notification.attempts + 1;
    const outcome = error === null
      ? { kind: 'sent' as const }
      : !channel || attempts >= this.#o.maxAttempts
        ? { kind: 'failed' as const, error }
        : { kind: 'retry' as const, error, nextAttemptAt: at + retryDelay({ type: 'exponential', ...this.#o.backoff, multiplier: 2, jitter: 0.2 }, attempts, this.#o.random) };
    if (channel) await store.recordAlertChannelResult({ id: channel.id, at, error }).catch(() => {});
    if (!(await store.finishAlertNotification({ id: notification.id, owner: this.#o.nodeId, at, outcome }))) return null;
    if (outcome.kind !== 'sent') {
      this.#o.log(outcome.kind === 'failed' ? 'error' : 'warn', outcome.kind === 'failed' ? 'an alert notification was given up' : 'an alert notification failed; it will be sent again',
        { notificationId: notification.id, incidentId: notification.incidentId, channelId: notification.channelId, attempts, error });
    }
    return { id: notification.id, outcome: outcome.kind, ...(error !== null ? { error } : {}) };
  }
}
