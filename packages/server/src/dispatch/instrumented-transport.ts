/**
 * A {@link RunTransport} that reports each attempt reaching its executor to an
 * {@link Instrumentation} (`attemptDispatched`: dispatch latency, fire lag), whatever the target
 * type: the report is taken from the attempt's `sent` signal, which every transport gives once the
 * attempt got out (see `AttemptContext.sent`). A transport that sends an attempt again (an
 * unreachable node, a re-send) reports its first arrival only.
 */
import type { Clock } from '../core/clock.ts';
import type { Instrumentation } from '../observability/instrumentation.ts';
import { runIdentity } from '../observability/run-identity.ts';
import type { RunTransport } from './run-transport.ts';

export function instrumentTransport(transport: RunTransport, p: { instrumentation: Instrumentation; clock: Clock }): RunTransport {
  const report = p.instrumentation.attemptDispatched;
  if (!report) return transport;
  const wrapped: RunTransport = {
    recovery: transport.recovery,
    send: (attempt, signal) => {
      const startedAt = p.clock.now();
      let reported = false;
      return transport.send({
        ...attempt,
        sent: (executor) => {
          attempt.sent(executor);
          if (reported) return;
          reported = true;
          const sentAt = Math.max(p.clock.now(), attempt.notBefore);
          report.call(p.instrumentation, {
            ...runIdentity(attempt.run, attempt.task), attempt: attempt.run.attempt, startedAt, sentAt,
            dispatchMs: Math.max(0, sentAt - Math.max(startedAt, attempt.notBefore)), ...(executor ? { executor } : {}),
          });
        },
      }, signal);
    },
    cancel: (attempt, reason) => transport.cancel(attempt, reason),
    status: (attempt) => transport.status(attempt),
  };
  if (transport.startsAhead) wrapped.startsAhead = (task) => transport.startsAhead!(task);
  return wrapped;
}
