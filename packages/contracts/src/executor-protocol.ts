import { z } from 'zod';
import type { ContainerTarget } from './task-spec.ts';
import { TraceparentSchema } from './trace-context.ts';

/** Header carrying `t=<unix ms>,n=<nonce>,v1=<hex HMAC-SHA256>` over `${t}.${n}.${body}`. */
export const SIGNATURE_HEADER = 'x-ecron-signature';
/** Header naming what a request to an executor asks: `run` (default), `cancel` or `status`. */
export const EVENT_HEADER = 'x-ecron-event';
/** An executor refuses a request signed longer ago than this. */
export const SIGNATURE_MAX_AGE_MS = 5 * 60_000;

/** The body POSTed to an HTTP target for each attempt. */
export interface RunRequest {
  runId: string;
  taskId: string;
  namespace: string;
  task: string;
  scheduledAt: string;
  attempt: number;
  params: Record<string, unknown>;
  shard: { index: number; total: number };
  deadline: string | null;
  callback: { url: string; token: string };
  /** Executor and shell targets: the executor group the run was routed in. */
  group?: string;
  /** Executor targets: the handler to run. Shell targets: `shell` (SHELL_HANDLER). */
  handler?: string;
  /** Shell targets: the command line, run only if the agent's allowlist allows it. */
  command?: string;
  /** Container targets with a group: the container to run on the agent's engine (handler `container`). */
  container?: Omit<ContainerTarget, 'group' | 'routing'>;
  /**
   * A leg of a fan-out attempt (broadcast, multicast, sharding), even when it is the only one: its
   * outcome must come in the reply (no 202), and its callback token carries log lines only.
   */
  fanOut?: boolean;
  /**
   * W3C trace context of the request: the server's dispatch span, the parent of what the executor
   * does for it (also sent as the `traceparent` header of HTTP requests and gRPC calls). Inside
   * the signed body, so it cannot be swapped. Absent when the server does not trace.
   */
  traceparent?: string;
}

/** Body of a cancel request (header `x-ecron-event: cancel`). */
export interface CancelRequest {
  event: 'cancel';
  runId: string;
  attempt: number;
  reason: 'user' | 'deadline' | 'overlap' | 'shutdown';
  /** Fan-out runs: the shard to stop; absent: every shard of the attempt on that executor. */
  shard?: number;
}

/** Body of a status request (header `x-ecron-event: status`), sent after a restart for runs in flight. */
export interface StatusRequest {
  event: 'status';
  runId: string;
  attempt: number;
}

export const StatusReplySchema = z.object({
  status: z.enum(['running', 'succeeded', 'failed', 'unknown']),
  output: z.unknown().optional(),
  error: z.string().optional(),
});
export type StatusReply = z.infer<typeof StatusReplySchema>;

const logLine = z.strictObject({
  level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  message: z.string().max(16_384),
  at: z.iso.datetime({ offset: true }).optional(),
});

/**
 * A callback report, POSTed to `/api/v1/runs/{id}/report` with the run-scoped token as bearer.
 * `seq` increases with every report of an attempt; a report whose seq was already seen is refused.
 */
export const RunReportSchema = z.strictObject({
  attempt: z.number().int().min(1),
  seq: z.number().int().min(0),
  progress: z.number().min(0).max(100).optional(),
  logs: z.array(logLine).max(1000).optional(),
  status: z.enum(['running', 'succeeded', 'failed']).optional(),
  output: z.unknown().optional(),
  error: z.string().max(16_384).optional(),
  /**
   * The executor's own span for the attempt (W3C traceparent), for the server to link its spans
   * to. Send it only when the run request carried a `traceparent`: an older server refuses it.
   */
  traceparent: TraceparentSchema.optional(),
});
export type RunReport = z.input<typeof RunReportSchema>;
