/**
 * The live form of `GET /api/v1/runs/{id}/logs`: a Server-Sent Events stream of the run's log
 * lines (`event: log`, `id: <seq>`, `data: <RunLogResource>`), then `event: end` with the run's
 * final status and error, after which the server closes the stream. A client that reconnects with
 * `Last-Event-ID` resumes after that line. Authentication, the caller's namespaces and
 * RUN_NOT_FOUND are checked before the stream opens, so they answer as JSON errors like any route.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../../core/clock.ts';
import { EcronError } from '../../core/errors.ts';
import { toRunLogResource } from '../../services/resources.ts';
import type { RunService } from '../../services/run-service.ts';
import { callerOf } from '../auth.ts';
import { type EventStream, openEventStream } from '../sse.ts';

/**
 * Whether a logs request asks for the stream: `follow=1` (or true), or an `Accept` header naming
 * `text/event-stream` when `follow` is not given.
 */
export function wantsEventStream(follow: boolean | undefined, accept: string | string[] | undefined): boolean {
  if (follow !== undefined) return follow;
  const value = Array.isArray(accept) ? accept.join(',') : accept ?? '';
  return /(^|,)\s*text\/event-stream\s*(;|,|$)/i.test(value);
}

/** The seq in a `Last-Event-ID` header, if one was sent. Throws VALIDATION_FAILED if it is not a whole number. */
export function lastEventId(request: FastifyRequest): number | undefined {
  const header = request.headers['last-event-id'];
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (value === undefined || value === '') return undefined;
  if (!/^\d{1,15}$/.test(value)) {
    const message = 'must be the seq of a log line (a whole number), as sent in the id of an event';
    throw new EcronError('VALIDATION_FAILED', `headers.last-event-id: ${message}`, { issues: [{ path: 'headers.last-event-id', code: 'INVALID_VALUE', message }] });
  }
  return Number(value);
}

export interface RunLogStreamsDeps {
  runs: RunService;
  clock: Clock;
  /** @default 15000 (see `sse.ts`) */
  keepAliveMs?: number;
}

/** The open log streams of one API instance, closed together when the server shuts down. */
export class RunLogStreams {
  readonly #deps: RunLogStreamsDeps;
  readonly #open = new Set<EventStream>();

  constructor(deps: RunLogStreamsDeps) {
    this.#deps = deps;
  }

  /** How many streams are open. */
  get size(): number {
    return this.#open.size;
  }

  /**
   * Serves one stream until the run's end, the client going away or {@link closeAll}. Resumes
   * after `Last-Event-ID` if sent, else after `afterSeq`. Throws (before the stream opens) what
   * the JSON route would: RUN_NOT_FOUND, VALIDATION_FAILED.
   */
  async serve(request: FastifyRequest, reply: FastifyReply, p: { runId: string; afterSeq: number | undefined }): Promise<void> {
    const caller = callerOf(request);
    const afterSeq = lastEventId(request) ?? p.afterSeq ?? 0;
    const abort = new AbortController();
    const events = await this.#deps.runs.follow(caller, p.runId, { afterSeq, abort: abort.signal });
    const stream = openEventStream(reply, { clock: this.#deps.clock, keepAliveMs: this.#deps.keepAliveMs });
    this.#open.add(stream);
    stream.signal.addEventListener('abort', () => abort.abort(), { once: true });
    try {
      for await (const event of events) {
        const sent = event.type === 'lines'
          ? await stream.send(event.lines.map((line) => ({ event: 'log', id: line.seq, data: JSON.stringify(toRunLogResource(line)) })))
          : await stream.send({ event: 'end', data: JSON.stringify({ status: event.run.status, error: event.run.error }) });
        if (!sent) break;
      }
    } catch (error) {
      // The answer has started: the client sees the stream close without `end`, and resumes.
      request.log.warn({ err: error, runId: p.runId }, 'following a run log failed');
    } finally {
      abort.abort();
      this.#open.delete(stream);
      stream.close();
    }
  }

  /** Closes every open stream (their clients see the stream end without `end`, and may resume elsewhere). */
  closeAll(): void {
    for (const stream of this.#open) stream.close();
  }
}
