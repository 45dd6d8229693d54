/**
 * The executor protocol over gRPC (proto/ecron/executor/v1/executor.proto): run, cancel and
 * status requests to executor nodes registered with `transport: 'grpc'` (signed with their
 * group's secret) and to `grpc` task targets (signed with the server's signing key).
 *
 * Each request carries the exact JSON the HTTP protocol would POST, in `body_json`, signed in the
 * `x-ecron-signature` metadata; the typed fields stay unset (see the .proto file's header). One
 * client channel per address, reused, plaintext (h2c) like `http://` targets: the HMAC
 * authenticates requests, it does not hide them. A channel unused for a while is closed.
 *
 * The answer maps to the same {@link DispatchResult} an HTTP dispatch gives: SUCCEEDED → succeeded,
 * FAILED → failed, ACCEPTED → accepted, HANDED_BACK → handed_back; UNAVAILABLE (refused, reset,
 * the executor not ready or stopping) → failed and unreachable; the signal aborted → aborted.
 */
import { randomBytes } from 'node:crypto';
import type { LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import { credentials, loadPackageDefinition, Metadata, status as GrpcStatus, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { SIGNATURE_HEADER, TRACEPARENT_HEADER, type CancelRequest, type RunRequest, type StatusReply, type StatusRequest, type Target } from '@ecron/contracts';
import { EXECUTOR_PROTO_LOADER_OPTIONS, type GrpcCancelReply, type GrpcRunReply, type GrpcSignedRequest, type GrpcStatusReply } from '@ecron/contracts/executor-grpc';
import { EXECUTOR_PROTO_PATH, PROTO_ROOT } from '@ecron/contracts/proto-path';
import { signBody } from '@ecron/contracts/signature';
import type { Clock } from '../core/clock.ts';
import { OUTBOUND_DENIED, OutboundPolicy, type OutboundPolicies } from './outbound-policy.ts';
import type { ExecutorNodeRecord } from '../store/store.ts';
import { OUTPUT_BYTES_CAP } from '../store/store.ts';
import type { ExecutorDirectory } from './executor-directory.ts';
import type { NodeTransport } from './executor-dispatch.ts';
import type { DispatchResult } from './http-dispatcher.ts';

export type GrpcTarget = Extract<Target, { type: 'grpc' }>;

export interface GrpcTransportOptions {
  clock: Clock;
  /** Secrets of executor groups (nodes are signed with their group's). */
  directory: Pick<ExecutorDirectory, 'secret'>;
  /** HMAC secret of `grpc` task targets. */
  signingKey: string;
  /** Time limit of cancel and status calls. @default 5000 */
  controlTimeoutMs?: number;
  /** Where calls may go (the address's name and what it resolves to, checked before each call). @default the default policy */
  outbound?: OutboundPolicies;
  /**
   * A run call's gRPC deadline is the run's deadline plus this much: the scheduler's own deadline
   * (which cancels the call and records `timed_out`) comes first, the executor still learns it.
   * @default 1000
   */
  deadlineMarginMs?: number;
  /** A channel that carried no call for this long is closed (a node that left). @default 300000 */
  idleCloseMs?: number;
}

/** Sends `grpc` task targets: what the run supervisor uses beside {@link NodeTransport}. */
export interface GrpcTargetTransport extends NodeTransport {
  dispatchTarget(target: GrpcTarget, request: RunRequest, signal: AbortSignal): Promise<DispatchResult>;
  /** Cancels at a `grpc` target, under `namespace`'s outbound policy (the task's). */
  cancelTarget(target: GrpcTarget, body: CancelRequest, namespace?: string): void;
  /** Asks a `grpc` target about an attempt (recovery after a restart), as {@link GrpcTransport.status}. */
  statusTarget(target: GrpcTarget, body: StatusRequest, namespace?: string): Promise<StatusReply | { status: 'no-answer' }>;
}

type Callback<T> = (error: ServiceError | null, reply?: T) => void;
type Call = { cancel(): void };
interface ExecutorClient extends Client {
  Run(request: GrpcSignedRequest, metadata: Metadata, options: { deadline?: number }, callback: Callback<GrpcRunReply>): Call;
  Cancel(request: GrpcSignedRequest, metadata: Metadata, options: { deadline?: number }, callback: Callback<GrpcCancelReply>): Call;
  Status(request: GrpcSignedRequest, metadata: Metadata, options: { deadline?: number }, callback: Callback<GrpcStatusReply>): Call;
}
type ExecutorClientConstructor = new (address: string, creds: ReturnType<typeof credentials.createInsecure>, options: Record<string, unknown>) => ExecutorClient;

interface Channel {
  client: ExecutorClient;
  calls: number;
  lastUsed: number;
}

/** Replies are capped a little above the stored output's cap (a bigger output is refused, not truncated). */
const MAX_REPLY_BYTES = OUTPUT_BYTES_CAP + 64 * 1024;
const CHANNEL_OPTIONS = {
  'grpc.max_receive_message_length': MAX_REPLY_BYTES,
  'grpc.max_send_message_length': -1,
  // A node restarted at the same address is reached again within a second, not after minutes.
  'grpc.initial_reconnect_backoff_ms': 200,
  'grpc.max_reconnect_backoff_ms': 2000,
  // The connections belong to this transport: close() ends them.
  'grpc.use_local_subchannel_pool': 1,
};
const SWEEP_INTERVAL_MS = 60_000;

let executorClient: ExecutorClientConstructor | null = null;

/** The generated client class, loaded on first use (nothing is read at import). */
function clientClass(): ExecutorClientConstructor {
  if (!executorClient) {
    const definition = loadSync(EXECUTOR_PROTO_PATH, { ...EXECUTOR_PROTO_LOADER_OPTIONS, includeDirs: [PROTO_ROOT] });
    const loaded = loadPackageDefinition(definition) as unknown as { ecron: { executor: { v1: { Executor: ExecutorClientConstructor } } } };
    executorClient = loaded.ecron.executor.v1.Executor;
  }
  return executorClient;
}

export class GrpcTransport implements GrpcTargetTransport {
  readonly #o: Required<GrpcTransportOptions>;
  readonly #channels = new Map<string, Channel>();
  #lastSweep = 0;
  #closed = false;

  constructor(options: GrpcTransportOptions) {
    this.#o = { controlTimeoutMs: 5000, deadlineMarginMs: 1000, idleCloseMs: 300_000, outbound: new OutboundPolicy(), ...options };
  }

  /** Open channels (one per address). */
  get channelCount(): number {
    return this.#channels.size;
  }

  async send(node: ExecutorNodeRecord, request: RunRequest, signal: AbortSignal, onSent?: () => void): Promise<DispatchResult> {
    if (!node.address) return { kind: 'failed', error: `executor ${node.id} registered no gRPC address`, unreachable: true };
    let secret: string;
    try {
      secret = await this.#o.directory.secret(node);
    } catch (error) {
      return { kind: 'failed', error: `the secret of group "${node.group}" could not be read: ${String(error)}` };
    }
    return this.dispatch(node.address, secret, request, signal, onSent);
  }

  cancel(node: ExecutorNodeRecord, body: CancelRequest): void {
    if (!node.address) return;
    const address = node.address;
    void this.#o.directory.secret(node).then((secret) => this.cancelAt(address, secret, body, node.namespace), () => {});
  }

  dispatchTarget(target: GrpcTarget, request: RunRequest, signal: AbortSignal): Promise<DispatchResult> {
    return this.dispatch(targetAddress(target.url), this.#o.signingKey, request, signal);
  }

  cancelTarget(target: GrpcTarget, body: CancelRequest, namespace?: string): void {
    void this.cancelAt(targetAddress(target.url), this.#o.signingKey, body, namespace);
  }

  statusTarget(target: GrpcTarget, body: StatusRequest, namespace?: string): Promise<StatusReply | { status: 'no-answer' }> {
    return this.status(targetAddress(target.url), this.#o.signingKey, body, namespace);
  }

  /**
   * Calls Run at `address`; `signal` cancels the call (cancel, deadline, shutdown). `onSent` is
   * called once the call is handed to the channel (gRPC tells no earlier sign of its delivery).
   */
  async dispatch(address: string, secret: string, request: RunRequest, signal: AbortSignal, onSent?: () => void): Promise<DispatchResult> {
    if (signal.aborted) return { kind: 'aborted' };
    if (this.#closed) return { kind: 'failed', error: 'the gRPC transport is closed', unreachable: true };
    const pinned = await pin(address, this.#o.outbound.of(request.namespace));
    if ('denied' in pinned) return { kind: 'failed', error: `gRPC call to ${address} refused: ${OUTBOUND_DENIED}: ${pinned.denied}` };
    if (signal.aborted) return { kind: 'aborted' };
    const body = JSON.stringify(request);
    const remaining = request.deadline === null ? NaN : Date.parse(request.deadline) - this.#o.clock.now();
    // gRPC deadlines are wall-clock instants; the run's deadline is on the injected clock.
    const deadline = Number.isFinite(remaining) ? Date.now() + Math.max(0, remaining) + this.#o.deadlineMarginMs : undefined;
    return new Promise((resolve) => {
      const call = this.#call(pinned, resolve, (client, done) => client.Run({ body_json: body }, this.#metadata(secret, body, request.traceparent), deadline === undefined ? {} : { deadline }, (error, reply) => {
        done();
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) return resolve({ kind: 'aborted' });
        resolve(error ? failure(address, error) : runResult(reply!));
      }));
      if (!call) return;
      onSent?.();
      const onAbort = (): void => call.cancel();
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Calls Cancel at `address`, under `namespace`'s outbound policy (the server's without one). Best effort: failures are returned, not thrown. */
  cancelAt(address: string, secret: string, body: CancelRequest, namespace?: string): Promise<{ ok: boolean; cancelled?: number; error?: string }> {
    return this.#control<GrpcCancelReply, { ok: boolean; cancelled?: number; error?: string }>(address, namespace, 'Cancel', secret, body,
      (reply) => ({ ok: true, cancelled: reply.cancelled }),
      (error) => ({ ok: false, error: describe(error) }));
  }

  /**
   * Calls Status at `address`. `unknown` is the executor's own answer (it never received the
   * attempt); `no-answer` means no usable reply (unreachable, timeout, an error, no status).
   */
  status(address: string, secret: string, body: StatusRequest, namespace?: string): Promise<StatusReply | { status: 'no-answer' }> {
    return this.#control<GrpcStatusReply, StatusReply | { status: 'no-answer' }>(address, namespace, 'Status', secret, body, (reply) => {
      const status = reply.status.toLowerCase();
      if (status !== 'running' && status !== 'succeeded' && status !== 'failed' && status !== 'unknown') return { status: 'no-answer' };
      const output = parseOutput(reply.output_json);
      return { status, ...(output === null ? {} : { output }), ...(reply.error ? { error: reply.error } : {}) };
    }, () => ({ status: 'no-answer' }));
  }

  /** Closes every channel (after the scheduler stopped, so nothing is in flight). Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const channel of this.#channels.values()) channel.client.close();
    this.#channels.clear();
  }

  async #control<R, T>(address: string, namespace: string | undefined, method: 'Cancel' | 'Status', secret: string, request: CancelRequest | StatusRequest,
    ok: (reply: R) => T, failed: (error: ServiceError | Error) => T): Promise<T> {
    if (this.#closed) return failed(new Error('the gRPC transport is closed'));
    const pinned = await pin(address, namespace === undefined ? this.#o.outbound.server : this.#o.outbound.of(namespace));
    if ('denied' in pinned) return failed(new Error(`${OUTBOUND_DENIED}: ${pinned.denied}`));
    const body = JSON.stringify(request);
    const deadline = Date.now() + this.#o.controlTimeoutMs;
    return new Promise((resolve) => {
      this.#call(pinned, (error) => resolve(failed(new Error(error.error))), (client, done) => (client[method] as (...args: unknown[]) => Call)({ body_json: body }, this.#metadata(secret, body), { deadline }, (error: ServiceError | null, reply?: R) => {
        done();
        resolve(error ? failed(error) : ok(reply!));
      }));
    });
  }

  /**
   * Starts a call on the address's channel (made on first use), counting it while in flight. A
   * call that cannot start (grpc-js refused the address) goes to `refused`, and null is returned.
   */
  #call(pinned: Pinned, refused: (result: { kind: 'failed'; error: string }) => void, start: (client: ExecutorClient, done: () => void) => Call): Call | null {
    const address = pinned.authority ?? pinned.target;
    const key = pinned.authority === undefined ? pinned.target : `${pinned.target} ${pinned.authority}`;
    this.#sweep();
    let used: Channel | undefined;
    let finished = false;
    const done = (): void => {
      if (finished || !used) return;
      finished = true;
      used.calls -= 1;
      used.lastUsed = this.#o.clock.now();
    };
    try {
      used = this.#channels.get(key);
      if (!used) {
        const Executor = clientClass();
        const options = pinned.authority === undefined ? CHANNEL_OPTIONS : { ...CHANNEL_OPTIONS, 'grpc.default_authority': pinned.authority };
        used = { client: new Executor(pinned.target, credentials.createInsecure(), options), calls: 0, lastUsed: 0 };
        this.#channels.set(key, used);
      }
      used.calls += 1;
      used.lastUsed = this.#o.clock.now();
      return start(used.client, done);
    } catch (error) {
      done();
      refused({ kind: 'failed', error: `gRPC call to ${address} could not start: ${(error as Error).message ?? String(error)}` });
      return null;
    }
  }

  /** The call's metadata: its signature, and the run request's trace context (also inside the signed body). */
  #metadata(secret: string, body: string, traceparent?: string): Metadata {
    const metadata = new Metadata();
    metadata.set(SIGNATURE_HEADER, signBody(secret, body, this.#o.clock.now(), randomBytes(12).toString('hex')));
    if (traceparent) metadata.set(TRACEPARENT_HEADER, traceparent);
    return metadata;
  }

  /** Closes channels with nothing in flight that were unused for idleCloseMs (at most once a minute). */
  #sweep(): void {
    const now = this.#o.clock.now();
    if (now - this.#lastSweep < SWEEP_INTERVAL_MS) return;
    this.#lastSweep = now;
    for (const [address, channel] of this.#channels) {
      if (channel.calls > 0 || now - channel.lastUsed < this.#o.idleCloseMs) continue;
      channel.client.close();
      this.#channels.delete(address);
    }
  }
}

/** A `grpc` target's url: `host:port` (a leading `grpc://` is dropped), or any grpc-js target name (`dns:///…`). */
export function targetAddress(url: string): string {
  return url.replace(/^grpc:\/\//i, '').replace(/\/+$/, '');
}

function runResult(reply: GrpcRunReply): DispatchResult {
  switch (reply.status) {
    case 'SUCCEEDED':
      return { kind: 'succeeded', output: parseOutput(reply.output_json) };
    case 'ACCEPTED':
      return { kind: 'accepted' };
    case 'HANDED_BACK':
      return { kind: 'handed_back', error: reply.error || 'handed back' };
    case 'FAILED': {
      const output = parseOutput(reply.output_json);
      return { kind: 'failed', error: reply.error || 'the executor answered FAILED', ...(output === null ? {} : { output }) };
    }
    default:
      return { kind: 'failed', error: `the executor answered status ${reply.status}` };
  }
}

/** UNAVAILABLE is a node that did not take the request (gone, restarting, stopping): another node may. */
function failure(address: string, error: ServiceError): DispatchResult {
  if (error.code === GrpcStatus.UNAVAILABLE) return { kind: 'failed', error: `gRPC call to ${address} failed: ${describe(error)}`, unreachable: true };
  if (error.code === GrpcStatus.DEADLINE_EXCEEDED) return { kind: 'failed', error: 'deadline exceeded (gRPC)' };
  return { kind: 'failed', error: `executor answered gRPC ${GrpcStatus[error.code] ?? error.code}: ${error.details || error.message}` };
}

/** `output_json` parsed; empty is null, text that is not JSON is kept as a string. */
function parseOutput(text: string): unknown {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function describe(error: ServiceError | Error): string {
  const e = error as Partial<ServiceError>;
  return e.code === undefined ? error.message : `${GrpcStatus[e.code] ?? e.code}${e.details ? `: ${e.details}` : ''}`;
}

/**
 * Where a call goes: `target` is what the channel connects to, `authority` the name the call
 * carries (its `:authority`) when the target is an address the name was resolved to.
 */
interface Pinned {
  target: string;
  authority?: string;
}

/** The default port of a gRPC address without one (grpc-js's). */
const DEFAULT_GRPC_PORT = '443';

/**
 * Checks `address` against `policy` and pins the call to what was checked: a name is resolved
 * once, every address it resolves to must pass, and the channel connects to the first of them
 * (the name kept as the authority), so a name that resolves otherwise at connect time (DNS
 * rebinding) cannot lead the call elsewhere. An address that names an IP is checked as it is.
 * A name that does not resolve is left to grpc-js, which fails the call as unreachable.
 */
async function pin(address: string, policy: OutboundPolicy): Promise<Pinned | { denied: string }> {
  const { host, port } = hostAndPort(address);
  const denied = policy.checkHost(host);
  if (denied) return { denied };
  if (isIP(host) !== 0) return { target: address };
  const resolved = await new Promise<{ denied: string } | LookupAddress[] | null>((resolve) => {
    policy.lookup(host, { all: true }, (error, addresses) => {
      if (error?.code === OUTBOUND_DENIED) resolve({ denied: error.message.replace(`${OUTBOUND_DENIED}: `, '') });
      else resolve(error ? null : addresses as LookupAddress[]);
    });
  });
  if (resolved === null || (Array.isArray(resolved) && resolved.length === 0)) return { target: address };
  if (!Array.isArray(resolved)) return resolved;
  const first = resolved[0]!;
  const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  return { target: first.family === 6 ? `ipv6:[${first.address}]:${port}` : `ipv4:${first.address}:${port}`, authority };
}

/** The host and port of a gRPC address (`host:port`, `[v6]:port`, or a `dns:`/`ipv4:`/`ipv6:` target). */
function hostAndPort(address: string): { host: string; port: string } {
  const target = address.replace(/^(dns|ipv4|ipv6):(\/\/[^/]*\/)?/, '');
  const bracketed = /^\[([^\]]+)\](?::(\d+))?/.exec(target);
  if (bracketed) return { host: bracketed[1]!, port: bracketed[2] ?? DEFAULT_GRPC_PORT };
  const colon = target.lastIndexOf(':');
  if (colon > 0 && target.indexOf(':') === colon) return { host: target.slice(0, colon), port: target.slice(colon + 1) || DEFAULT_GRPC_PORT };
  return { host: target, port: DEFAULT_GRPC_PORT };
}
