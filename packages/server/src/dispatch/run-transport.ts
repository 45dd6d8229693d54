/**
 * The one seam between the run supervisor and the wire. Every target type has one
 * {@link RunTransport} (send, cancel, status), chosen once per attempt by {@link RunTransports};
 * the supervisor never looks at `target.type` again.
 *
 * - `http`: one signed request per attempt ({@link HttpDispatcher}).
 * - `grpc`: one signed unary call per attempt ({@link GrpcTargetTransport}).
 * - `executor` and `shell`, and `container` with a group: the live nodes of an executor group,
 *   over whatever each node speaks (HTTP, gRPC, pull, stream), with routing, fan-out and re-sends
 *   ({@link ExecutorDispatch}).
 * - `container` without a group: a container on the server's engine (container-transport.ts).
 */
import type { CancelRequest, HttpTarget, RunRequest, StatusReply, Target } from '@ecron/contracts';
import type { RunRecord, TaskRecord } from '../core/model.ts';
import type { ExecutorResult } from './executor-dispatch.ts';
import type { GrpcTarget, GrpcTargetTransport } from './grpc-transport.ts';
import type { HttpDispatcher } from './http-dispatcher.ts';
import type { Leg } from './routing.ts';
import type { DispatchSpan, DispatchWhere } from '../observability/tracing.ts';

export type CancelReason = CancelRequest['reason'];
export type StatusAnswer = StatusReply | { status: 'no-answer' };

/** One attempt of a run, as a transport sees it. */
export interface AttemptContext {
  run: RunRecord;
  task: TaskRecord;
  /**
   * The attempt's instant when it is handed to the transport before it (a fire launched ahead,
   * ms on the scheduler's clock), else 0. Only a transport with `startsAhead` gets one ahead.
   */
  notBefore: number;
  /** The signed-for envelope of the attempt (of one leg of a fan-out). */
  request(leg?: Leg, fanOut?: boolean): RunRequest;
  /**
   * Opens the trace span of one request of the attempt (to one node, one leg, one target): send
   * its `request` (stamped with the span's `traceparent`) and `end` the span with what it came to.
   */
  dispatch(request: RunRequest, where: DispatchWhere): DispatchSpan;
  /** The attempt reached its executor (`executor`: which, when the transport knows). */
  sent(executor?: string): void;
  /** A line for the run's log (where the attempt went, re-sends). */
  note(level: 'info' | 'warn', message: string): void;
}

export interface RunTransport {
  /** Sends the attempt and resolves with what it came to; `signal` aborts it (cancel, deadline, shutdown). */
  send(attempt: AttemptContext, signal: AbortSignal): Promise<ExecutorResult>;
  /** Asks the executor(s) of the attempt to stop it (best effort). */
  cancel(attempt: Pick<AttemptContext, 'run' | 'task'>, reason: CancelReason): void;
  /** Asks what became of the attempt (recovery after a restart); `no-answer` when it cannot tell. */
  status(attempt: Pick<AttemptContext, 'run' | 'task'>): Promise<StatusAnswer>;
  /**
   * What a restarted scheduler does with an attempt of this transport it finds in flight: `ask`
   * its executor (a target that outlives its caller), or `resend` it (an executor node stops the
   * runs of a scheduler whose connection closed, and refuses a superseded attempt's report).
   */
  readonly recovery: 'ask' | 'resend';
  /**
   * Present when the transport takes attempts before their instant (`notBefore`) and sees that
   * none starts before it (without it, the supervisor hands an attempt over at its instant). Says
   * whether launching the task's fires ahead gains anything now: a node of its target can hold a
   * run and start it at its instant.
   */
  startsAhead?(task: TaskRecord): boolean;
}

function selector(run: RunRecord) {
  return { runId: run.id, attempt: run.attempt };
}

/** `http` targets: a signed request per attempt, marked sent once written to the connection. */
export function httpRunTransport(http: HttpDispatcher): RunTransport {
  const target = (task: TaskRecord) => task.spec.target as HttpTarget;
  return {
    recovery: 'ask',
    send: async (attempt, signal) => {
      const span = attempt.dispatch(attempt.request(), { transport: 'http', url: target(attempt.task).url });
      const result = await http.dispatch(target(attempt.task), span.request, signal, () => attempt.sent());
      span.end(result);
      return result;
    },
    cancel: ({ run, task }, reason) => void http.cancel(target(task), { event: 'cancel', ...selector(run), reason }, task.namespace),
    status: ({ run, task }) => http.status(target(task), { event: 'status', ...selector(run) }, task.namespace),
  };
}

/** `grpc` targets: a signed unary call per attempt, marked sent as the call starts (gRPC tells nothing earlier). */
export function grpcRunTransport(grpc: GrpcTargetTransport): RunTransport {
  const target = (task: TaskRecord) => task.spec.target as GrpcTarget;
  return {
    recovery: 'ask',
    send: async (attempt, signal) => {
      const span = attempt.dispatch(attempt.request(), { transport: 'grpc', url: target(attempt.task).url });
      const reply = grpc.dispatchTarget(target(attempt.task), span.request, signal);
      attempt.sent();
      const result = await reply;
      span.end(result);
      return result;
    },
    cancel: ({ run, task }, reason) => grpc.cancelTarget(target(task), { event: 'cancel', ...selector(run), reason }, task.namespace),
    status: ({ run, task }) => grpc.statusTarget(target(task), { event: 'status', ...selector(run) }, task.namespace),
  };
}

/** Chooses the transport of a target type, once per attempt. */
export class RunTransports {
  readonly #byType: Partial<Record<Target['type'], RunTransport>>;

  /** `wrap`: applied to each transport once (instrumentation). */
  constructor(byType: Partial<Record<Target['type'], RunTransport>>, wrap?: (transport: RunTransport) => RunTransport) {
    if (!wrap) {
      this.#byType = byType;
      return;
    }
    // One wrapper per transport object: `executor` and `shell` share theirs.
    const wrapped = new Map<RunTransport, RunTransport>();
    this.#byType = Object.fromEntries(Object.entries(byType).map(([type, transport]) => {
      if (!wrapped.has(transport)) wrapped.set(transport, wrap(transport));
      return [type, wrapped.get(transport)!];
    }));
  }

  /** The transport of the target's type, or null when this server cannot send it. */
  of(target: Target): RunTransport | null {
    // A container target with a group runs on the group's agents, sent as executor targets are.
    const type = target.type === 'container' && target.group !== undefined ? 'executor' : target.type;
    return this.#byType[type] ?? null;
  }
}
