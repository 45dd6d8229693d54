/**
 * A delivery (pull or stream): a run request the server handed this node under a delivery id,
 * answered by a result under the same id. Starting one follows the host's rules as a pushed run
 * does, except that it never answers `accepted`: a detached run's result waits for its outcome.
 */
import type { StreamResult } from '@ecron/contracts/executor-stream';
import type { RunAnswer, RunExecution, RunOutcome } from './run-execution.ts';
import { parseRunRequest, type RunHost } from './transport.ts';

/** A delivery's result; `handed_back` when the node stopped before it ran to its end. */
export type DeliveryResult = StreamResult;

/** A delivery made ready to start: `start()` starts it (or answers it at once); `discard()` lets it go unstarted. */
export interface PreparedDelivery {
  start(): RunExecution | null;
  discard(): void;
}

/**
 * Starts delivery `id` on the host. `done` gets its result once: at once when it does not run
 * (the host is stopping, the request is invalid, no handler, or the same run ended a moment ago),
 * else when the run answers. Returns the run when one goes on.
 */
export function startDelivery(host: RunHost, id: string, value: unknown, done: (result: DeliveryResult) => void): RunExecution | null {
  return prepareDelivery(host, id, value, done)?.start() ?? null;
}

/**
 * Does now what starting delivery `id` takes before the handler's call (parsing, the run and its
 * context), for a start later (a run that came before its instant). Null when it was answered at
 * once (an invalid request, no handler): `done` got that result.
 */
export function prepareDelivery(host: RunHost, id: string, value: unknown, done: (result: DeliveryResult) => void): PreparedDelivery | null {
  const request = parseRunRequest(value);
  if (typeof request === 'string') {
    done({ id, status: 'failed', error: `invalid run request: ${request}` });
    return null;
  }
  const prepared = host.prepareRun(request, { acceptDetached: false });
  if (prepared.kind === 'no-handler') {
    done({ id, status: 'failed', error: prepared.message });
    return null;
  }
  return {
    discard: () => prepared.discard(),
    start: () => {
      if (!host.accepting) {
        prepared.discard();
        done({ id, status: 'handed_back' });
        return null;
      }
      const started = prepared.start();
      if (started.kind === 'no-handler') done({ id, status: 'failed', error: started.message });
      else if (started.kind === 'recent') done(deliveryResult(id, started.outcome));
      else {
        void started.execution.answer.then((answer) => done(deliveryResult(id, answer)));
        return started.execution;
      }
      return null;
    },
  };
}

function deliveryResult(id: string, answer: RunAnswer | RunOutcome): DeliveryResult {
  switch (answer.status) {
    case 'succeeded':
      return { id, status: 'succeeded', output: answer.output, ...(answer.traceparent ? { traceparent: answer.traceparent } : {}) };
    case 'failed':
      return { id, status: 'failed', error: answer.error, ...(answer.traceparent ? { traceparent: answer.traceparent } : {}) };
    case 'handed-back':
    case 'accepted':
      return { id, status: 'handed_back' };
  }
}
