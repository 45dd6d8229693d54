/**
 * Executor nodes: how a service embedding the SDK (or an `ecron agent`) joins an executor group,
 * heartbeats, and, in pull mode, takes its runs. Shared by the server, the SDK and the console.
 */
import { z } from 'zod';
import type { RunRequest } from './executor-protocol.ts';
import { TaskSpecSchema } from './task-spec.ts';
import { TraceparentSchema } from './trace-context.ts';

/** How often the SDK heartbeats by default. */
export const EXECUTOR_HEARTBEAT_MS = 1000;
/** A node that has not heartbeated for this long leaves routing. */
export const EXECUTOR_TTL_MS = 4000;
/** Handler name that `shell` targets are sent to (what `ecron agent` registers). */
export const SHELL_HANDLER = 'shell';
/** Handler name that `container` targets with a `group` are sent to (an `ecron agent` with a container engine registers it). */
export const CONTAINER_HANDLER = 'container';

const GROUP = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;
const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;

/** The name of an executor group (`target.group`, a heartbeat's `group`, a token's `groups`). */
export const ExecutorGroupNameSchema = z.string().regex(GROUP, 'must be 1-128 characters: letters, digits, ".", "_" or "-", starting with a letter or digit');

export const ExecutorNodeIdSchema = z.string().regex(NODE_ID, 'must be 1-128 characters: letters, digits, ".", "_", ":", "@" or "-", starting with a letter or digit');

/** `PUT /api/v1/executors/{id}`: registers a node or heartbeats it (the same call, repeated). */
export const ExecutorHeartbeatSchema = z.strictObject({
  /**
   * The namespace the node's group belongs to: it runs only that namespace's tasks, its token must
   * cover it, and its group's secret is that namespace's (group `g` of namespace `a` and group `g`
   * of namespace `b` are two groups).
   */
  namespace: TaskSpecSchema.shape.namespace,
  group: ExecutorGroupNameSchema,
  /**
   * `push`: the server sends runs to `address`. `pull`: the node takes them, by long polls or
   * over the stream it holds to each scheduler node (`GET /api/v1/executors/{id}/stream`).
   */
  mode: z.enum(['push', 'pull']).default('push'),
  transport: z.enum(['http', 'grpc']).default('http'),
  /** Where runs are sent in push mode: `http(s)://host:port/path` for http, `host:port` for grpc. */
  address: z.string().min(1).max(2048).nullable().default(null),
  labels: z.record(z.string().regex(LABEL_KEY, 'label keys are 1-63 characters: letters, digits, ".", "_", "/" or "-"'), z.string().max(256))
    .refine((labels) => Object.keys(labels).length <= 64, 'at most 64 labels').default({}),
  weight: z.number().int().min(1).max(1000).default(1),
  /** Handlers this node serves; a run goes only to nodes that serve its handler. */
  handlers: z.array(z.string().min(1).max(128)).max(1000).default([]),
  version: z.string().max(64).default(''),
  /** Runs in flight on the node now (least-busy routing). */
  inflight: z.number().int().min(0).max(1_000_000).default(0),
}).superRefine((body, ctx) => {
  if (body.mode === 'push' && !body.address) ctx.addIssue({ code: 'custom', path: ['address'], message: 'a push-mode executor needs an address' });
  if (body.mode === 'push' && body.address && body.transport === 'http' && !/^https?:\/\/[^\s]+$/.test(body.address)) {
    ctx.addIssue({ code: 'custom', path: ['address'], message: 'expected an http:// or https:// URL' });
  }
  if (body.mode === 'push' && body.address && body.transport === 'grpc' && !/^[A-Za-z0-9.[\]:-]+:\d{1,5}$/.test(body.address)) {
    ctx.addIssue({ code: 'custom', path: ['address'], message: 'expected host:port for a grpc executor' });
  }
});
export type ExecutorHeartbeat = z.input<typeof ExecutorHeartbeatSchema>;

/** The answer to a heartbeat: the group's signing secret, and how often to beat. */
export interface ExecutorHeartbeatReply {
  id: string;
  namespace: string;
  group: string;
  /** HMAC secret of the group: requests to the node are signed with it. */
  secret: string;
  heartbeatMs: number;
  ttlMs: number;
  expiresAt: string;
}

/** An executor node as `GET /api/v1/executors` returns it. */
export interface ExecutorResource {
  id: string;
  namespace: string;
  group: string;
  mode: 'push' | 'pull';
  transport: 'http' | 'grpc';
  address: string | null;
  labels: Record<string, string>;
  weight: number;
  handlers: string[];
  version: string;
  inflight: number;
  startedAt: string;
  heartbeatAt: string;
  expiresAt: string;
  alive: boolean;
}

export interface ExecutorList {
  items: ExecutorResource[];
}

/** `POST /api/v1/executors/{id}/poll`: a pull-mode node asks for work (long poll). */
export const PollRequestSchema = z.strictObject({
  /** Most deliveries to take. */
  max: z.number().int().min(1).max(1000).default(16),
  /** Longest wait for work, in ms. */
  waitMs: z.number().int().min(0).max(30_000).default(20_000),
  /** Deliveries the node is running: the reply names those cancelled since. */
  running: z.array(z.string().max(200)).max(10_000).default([]),
});
export type PollRequest = z.input<typeof PollRequestSchema>;

export interface PollReply {
  deliveries: { id: string; request: RunRequest }[];
  /** Deliveries (among `running`) that must stop. */
  cancels: { id: string; reason: 'user' | 'deadline' | 'overlap' | 'shutdown' }[];
}

/** `POST /api/v1/executors/{id}/results`: a pull-mode node returns what its deliveries came to. */
export const PollResultsSchema = z.strictObject({
  results: z.array(z.strictObject({
    id: z.string().max(200),
    status: z.enum(['succeeded', 'failed']),
    output: z.unknown().optional(),
    error: z.string().max(16_384).optional(),
    /** The executor's span of the run (W3C traceparent); only when its request carried one. */
    traceparent: TraceparentSchema.optional(),
  })).max(1000),
});
export type PollResults = z.input<typeof PollResultsSchema>;
