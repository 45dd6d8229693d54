/**
 * Callback reports (`POST callback.url`, bearer = the run-scoped token): log lines and progress
 * in batches at most every 200 ms, the `running` status of a run whose handler is still at work
 * after that long (with its first batch, or alone), and the final status of detached runs.
 *
 * The server's sequence gate accepts a report only if its `seq` is higher than every seq it has
 * seen for that run and attempt, so all reporters with the same callback (a duplicate delivery of
 * one attempt) share one {@link ReportChannel} in this process: one counter, and one report in
 * flight at a time, so that seqs reach the server in increasing order. Shards of a fan-out
 * attempt get tokens of their own (logs and progress only, no gate): one channel each.
 */
import type { RunReport, RunRequest } from '@ecron/contracts';
import { sendJson } from './api-request.ts';
import { EcronApiError } from './errors.ts';
import { describeError, type LogLevel, type SdkLogger } from './log.ts';

/** Longest log message the server takes; longer ones are cut. */
export const MAX_LOG_MESSAGE = 16_384;
const MAX_LINES_PER_REPORT = 1000;
/** Stay well under the API's 1 MiB body limit. */
const MAX_BYTES_PER_REPORT = 512 * 1024;
/** Lines kept while the callback cannot take them; older ones are dropped (and counted). */
const MAX_BUFFERED_LINES = 10_000;
const FINAL_REPORT_TRIES = 5;
/** How long a channel outlives its last reporter: a late shard of the same attempt continues its seq. */
const CHANNEL_TTL_MS = 10 * 60_000;
/** How often (at most) the channels are swept for expired ones: a sweep walks all of them. */
const SWEEP_INTERVAL_MS = 10_000;

export interface ReportDeps {
  log: SdkLogger;
  userAgent: string;
  /** Per-report time limit in ms. */
  timeoutMs: number;
  /** Least time between two batches. @default 200 */
  flushIntervalMs: number;
  /** Told of every report the server accepted (tests wait on it). */
  onSent(report: RunReport & { runId: string }): void;
}

type SendResult = 'accepted' | 'retry' | 'dropped' | 'closed';

/** One counter and one in-flight report for one callback (run, attempt and, for fan-out, shard). */
class ReportChannel {
  readonly key: string;
  next = 0;
  users = 0;
  lastUsed = Date.now();
  /** Reports queued or in flight on this channel. */
  pending = 0;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(key: string) {
    this.key = key;
  }

  /** Runs `work` after every earlier report on this channel; `takeSeq` hands out the next seq. */
  exclusive<T>(work: (takeSeq: () => number) => Promise<T>): Promise<T> {
    this.pending++;
    const result = this.#tail.then(() => work(() => this.next++));
    this.#tail = result.then(() => { this.pending--; }, () => { this.pending--; });
    return result;
  }
}

export class ReportSequencer {
  readonly #channels = new Map<string, ReportChannel>();
  #lastSweep = Date.now();

  /** Channels kept now (for tests). */
  get size(): number {
    return this.#channels.size;
  }

  acquire(callbackUrl: string, token: string): ReportChannel {
    const key = `${callbackUrl} ${token}`;
    let channel = this.#channels.get(key);
    if (!channel) {
      this.#sweep();
      channel = new ReportChannel(key);
      this.#channels.set(key, channel);
    }
    channel.users++;
    return channel;
  }

  release(channel: ReportChannel): void {
    channel.users--;
    channel.lastUsed = Date.now();
    // A channel that never handed out a seq, with nothing queued, holds nothing: a later reporter
    // of the same callback starts at seq 0 either way. Most runs send no report at all (no logs,
    // no progress), so most channels go here rather than waiting CHANNEL_TTL_MS for a sweep.
    if (channel.users === 0 && channel.next === 0 && channel.pending === 0 && this.#channels.get(channel.key) === channel) this.#channels.delete(channel.key);
  }

  /** Drops channels unused for CHANNEL_TTL_MS; at most every SWEEP_INTERVAL_MS, since it walks them all. */
  #sweep(now = Date.now()): void {
    if (now - this.#lastSweep < SWEEP_INTERVAL_MS) return;
    this.#lastSweep = now;
    const cutoff = now - CHANNEL_TTL_MS;
    for (const [key, channel] of this.#channels) if (channel.users === 0 && channel.pending === 0 && channel.lastUsed < cutoff) this.#channels.delete(key);
  }
}

interface LogLine {
  level: LogLevel;
  message: string;
  at: string;
}

/** The reports of one run on this node (one shard of one attempt). */
export class CallbackReporter {
  readonly #request: RunRequest;
  readonly #deps: ReportDeps;
  readonly #sequencer: ReportSequencer;
  readonly #channel: ReportChannel | null;
  #lines: LogLine[] = [];
  #dropped = 0;
  #progress: number | undefined;
  #progressDirty = false;
  #timer: NodeJS.Timeout | null = null;
  /** When the armed timer fires (Date.now() scale). */
  #timerDue = 0;
  /** The handler started and the server has not been told the run is `running` yet. */
  #runningUnsent = false;
  #lastFlushAt = 0;
  #flushing: Promise<void> = Promise.resolve();
  /** No more reports: the run is over, or the server refused this attempt for good. */
  #closed = false;
  #released = false;

  constructor(request: RunRequest, sequencer: ReportSequencer, deps: ReportDeps) {
    this.#request = request;
    this.#deps = deps;
    this.#sequencer = sequencer;
    const usable = typeof request.callback?.url === 'string' && request.callback.url !== '';
    this.#channel = usable ? sequencer.acquire(request.callback.url, request.callback.token) : null;
    if (!usable) this.#closed = true;
  }

  log(level: LogLevel, message: string): void {
    if (this.#closed) return;
    const text = String(message);
    this.#lines.push({ level, message: text.length > MAX_LOG_MESSAGE ? `${text.slice(0, MAX_LOG_MESSAGE - 1)}…` : text, at: new Date().toISOString() });
    if (this.#lines.length > MAX_BUFFERED_LINES) {
      this.#lines.shift();
      this.#dropped++;
    }
    this.#schedule(0);
  }

  progress(percent: number): void {
    if (this.#closed || !Number.isFinite(percent)) return;
    this.#progress = Math.min(100, Math.max(0, percent));
    this.#progressDirty = true;
    this.#schedule(0);
  }

  /**
   * The handler started: the run is reported `running` with the next batch, or alone once
   * `flushIntervalMs` passed, so that a run that ends sooner costs no report. Not for a leg of a
   * fan-out attempt, whose token carries no status.
   */
  announceRunning(): void {
    if (this.#closed || this.#request.fanOut) return;
    this.#runningUnsent = true;
    this.#schedule(this.#deps.flushIntervalMs);
  }

  /** The outcome is known (or the run accepted with 202): no `running` report is due any more. */
  dropRunningNotice(): void {
    this.#runningUnsent = false;
  }

  /** Sends what is buffered now (after any report in flight). Never throws. */
  flush(): Promise<void> {
    this.#clearTimer();
    this.#flushing = this.#flushing.then(() => this.#flushOnce());
    return this.#flushing;
  }

  /**
   * Sends the buffered lines, then the final status, retrying network and 5xx failures with
   * backoff. Resolves true when the server took it, or already knew the run was over.
   */
  async finish(outcome: ({ status: 'succeeded'; output: unknown } | { status: 'failed'; error: string }) & { traceparent?: string }): Promise<boolean> {
    await this.flush();
    if (this.#closed || !this.#channel) {
      this.close();
      return false;
    }
    const { logs } = this.#takeChunk();
    this.close();
    const base = outcome.status === 'succeeded'
      ? { status: 'succeeded' as const, output: outcome.output }
      : { status: 'failed' as const, error: outcome.error.slice(0, MAX_LOG_MESSAGE) };
    const span = outcome.traceparent ? { traceparent: outcome.traceparent } : {};
    for (let round = 0; round < FINAL_REPORT_TRIES; round++) {
      if (round > 0) await delay(250 * 2 ** (round - 1));
      const result = await this.#send((seq) => ({
        attempt: this.#request.attempt, seq, ...base, ...span,
        ...(logs.length ? { logs } : {}),
        ...(this.#progress === undefined ? {} : { progress: this.#progress }),
      }));
      if (result === 'accepted') return true;
      if (result !== 'retry') return result === 'closed';
    }
    this.#deps.log('error', 'the final status of a detached run could not be reported', { runId: this.#request.runId, attempt: this.#request.attempt, status: outcome.status });
    return false;
  }

  /** Stops reporting; the channel stays with the sequencer for other shards. */
  close(): void {
    this.#clearTimer();
    if (this.#channel && !this.#released) {
      this.#released = true;
      this.#sequencer.release(this.#channel);
    }
    this.#closed = true;
  }

  #schedule(extraDelay: number): void {
    if (this.#closed) return;
    const now = Date.now();
    const wait = Math.max(extraDelay, this.#lastFlushAt + this.#deps.flushIntervalMs - now, 0);
    // An armed timer stays unless this flush is due sooner (a log line after announceRunning).
    if (this.#timer && this.#timerDue <= now + wait) return;
    this.#clearTimer();
    this.#timerDue = now + wait;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.flush();
    }, wait);
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  async #flushOnce(): Promise<void> {
    this.#lastFlushAt = Date.now();
    // Only what is buffered now: lines logged meanwhile wait for the next batch.
    let remaining = this.#lines.length;
    let withProgress = this.#progressDirty;
    while (!this.#closed && (remaining > 0 || withProgress || this.#dropped > 0 || this.#runningUnsent)) {
      const { logs, taken } = this.#takeChunk(remaining);
      remaining -= taken;
      const progress = remaining === 0 && withProgress ? this.#progress : undefined;
      if (progress !== undefined) {
        withProgress = false;
        this.#progressDirty = false;
      }
      const running = this.#runningUnsent;
      this.#runningUnsent = false;
      const result = await this.#send((seq) => ({
        attempt: this.#request.attempt, seq,
        ...(running ? { status: 'running' as const } : {}),
        ...(logs.length ? { logs } : {}),
        ...(progress === undefined ? {} : { progress }),
      }));
      if (result === 'retry') {
        this.#lines.unshift(...logs);
        if (running) this.#runningUnsent = true;
        if (progress !== undefined) this.#progressDirty = true;
        this.#schedule(1000);
        return;
      }
    }
  }

  /**
   * Up to one report's worth of the first `limit` buffered lines (all when absent), with a notice
   * first if lines were dropped; `taken` counts the buffered lines it holds.
   */
  #takeChunk(limit = this.#lines.length): { logs: LogLine[]; taken: number } {
    const logs: LogLine[] = [];
    if (this.#dropped > 0) {
      logs.push({ level: 'warn', message: `${this.#dropped} log lines dropped: the callback could not keep up`, at: new Date().toISOString() });
      this.#dropped = 0;
    }
    let bytes = 0;
    let taken = 0;
    while (taken < limit && this.#lines.length > 0 && logs.length < MAX_LINES_PER_REPORT) {
      const line = this.#lines[0]!;
      const size = Buffer.byteLength(line.message) + 64;
      if (logs.length > 0 && bytes + size > MAX_BYTES_PER_REPORT) break;
      bytes += size;
      logs.push(this.#lines.shift()!);
      taken++;
    }
    return { logs, taken };
  }

  /** One report, with the next seq of the channel. */
  #send(build: (seq: number) => RunReport): Promise<SendResult> {
    const channel = this.#channel;
    if (!channel) return Promise.resolve('closed');
    const { runId, callback } = this.#request;
    return channel.exclusive(async (takeSeq) => {
      const report = build(takeSeq());
      try {
        await sendJson(callback.url, { method: 'POST', token: callback.token, body: report, timeoutMs: this.#deps.timeoutMs, userAgent: this.#deps.userAgent });
        this.#deps.onSent({ runId, ...report });
        return 'accepted';
      } catch (error) {
        const fields = { runId, attempt: report.attempt, seq: report.seq, error: describeError(error) };
        if (!(error instanceof EcronApiError) || error.retryable) {
          this.#deps.log('warn', 'a run report failed; it is sent again', fields);
          return 'retry';
        }
        // The attempt is over or not ours to speak for: nothing later will be accepted either.
        if ([401, 403, 404].includes(error.status) || ['CALLBACK_ATTEMPT_SUPERSEDED', 'RUN_ALREADY_FINISHED'].includes(error.code)) {
          this.#deps.log('warn', 'the server refused the run\'s reports; no more are sent', { ...fields, code: error.code });
          this.#closed = true;
          this.#lines = [];
          return 'closed';
        }
        this.#deps.log('warn', 'the server refused a run report; its lines are dropped', { ...fields, code: error.code });
        return 'dropped';
      }
    });
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
