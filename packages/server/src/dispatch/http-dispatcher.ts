import { randomFillSync } from 'node:crypto';
import { EVENT_HEADER, SIGNATURE_HEADER, StatusReplySchema, TRACEPARENT_HEADER, parseTraceparent, type CancelRequest, type HttpTarget, type RunRequest, type StatusReply, type StatusRequest } from '@ecron/contracts';
import { signBody } from '@ecron/contracts/signature';
import { Agent, buildConnector, Dispatcher, request } from 'undici';
import type { Clock } from '../core/clock.ts';
import { OUTBOUND_DENIED, OutboundPolicy, type OutboundPolicies } from './outbound-policy.ts';
import { OUTPUT_BYTES_CAP } from '../store/store.ts';

/** What one HTTP dispatch came to. */
export type DispatchResult =
  /** `traceparent`: the executor's own span, when its reply told it. */
  | { kind: 'succeeded'; output: unknown; traceparent?: string }
  | { kind: 'accepted' }
  /** `unreachable`: no answer at all (refused, reset, closed): the executor may be gone, not the run at fault. */
  | { kind: 'failed'; error: string; output?: unknown; unreachable?: boolean; traceparent?: string }
  /** The executor stopped and gave the run back without running it to the end (SDK shutdown). */
  | { kind: 'handed_back'; error: string }
  | { kind: 'aborted' };

/** Header of an executor's 503 answer for a run it hands back at shutdown (the SDK sets it). */
export const HANDED_BACK_HEADER = 'x-ecron-handed-back';

export interface HttpDispatcherOptions {
  clock: Clock;
  /** Default HMAC secret, used for targets without their own `secret`. */
  signingKey: string;
  /** Connections per executor origin. @default 128 */
  connectionsPerOrigin?: number;
  /** Timeout of cancel and status requests. @default 5000 */
  controlTimeoutMs?: number;
  /**
   * Where requests may connect (checked on every connection, against every resolved address): one
   * policy, or each namespace's (a run's, by its envelope's namespace). @default the default policy
   */
  outbound?: OutboundPolicies;
}

/**
 * Sends run, cancel and status requests to HTTP targets over keep-alive connections (undici),
 * each signed with `x-ecron-signature`.
 */
export class HttpDispatcher {
  readonly #agent: Agent;
  /** Connections of namespaces with outbound rules of their own: one agent per namespace, made with its policy. */
  readonly #namespaceAgents = new Map<string, { policy: OutboundPolicy; agent: Agent }>();
  readonly #options: Required<HttpDispatcherOptions>;
  readonly #nonces = new NoncePool();

  constructor(options: HttpDispatcherOptions) {
    this.#options = { connectionsPerOrigin: 128, controlTimeoutMs: 5000, outbound: new OutboundPolicy(), ...options };
    this.#agent = this.#newAgent(this.#options.outbound.server);
  }

  #newAgent(policy: OutboundPolicy): Agent {
    return new Agent({ connections: this.#options.connectionsPerOrigin, keepAliveTimeout: 30_000, pipelining: 1, connect: policedConnector(policy) });
  }

  /** The connections of `namespace`: the server's, or its own when it has outbound rules (made again when they change). */
  #agentFor(namespace: string | undefined): Agent {
    const { outbound } = this.#options;
    const policy = namespace === undefined ? outbound.server : outbound.of(namespace);
    if (policy === outbound.server) return this.#agent;
    const known = this.#namespaceAgents.get(namespace!);
    if (known?.policy === policy) return known.agent;
    if (known) void known.agent.close().catch(() => {});
    const agent = this.#newAgent(policy);
    this.#namespaceAgents.set(namespace!, { policy, agent });
    return agent;
  }

  /**
   * POSTs the run envelope. `signal` aborts the request (cancel, deadline, shutdown). `onSent` is
   * called once the whole request has been written to the executor's connection.
   */
  async dispatch(target: HttpTarget, envelope: RunRequest, signal: AbortSignal, onSent?: () => void): Promise<DispatchResult> {
    const body = JSON.stringify(envelope);
    const agent = this.#agentFor(envelope.namespace);
    try {
      const response = await request(target.url, {
        method: 'POST',
        dispatcher: onSent ? new SentSignal(agent, onSent) : agent,
        // The trace context also rides in the signed body; the header is for proxies and plain endpoints.
        headers: envelope.traceparent ? { ...this.#headers(target, body, 'run'), [TRACEPARENT_HEADER]: envelope.traceparent } : this.#headers(target, body, 'run'),
        body,
        signal,
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      const output = await readOutput(response.body, response.headers['content-type']);
      if (response.statusCode === 202) return { kind: 'accepted' };
      if (response.statusCode >= 200 && response.statusCode < 300) return { kind: 'succeeded', output, ...executorSpan(response.headers[TRACEPARENT_HEADER]) };
      if (response.statusCode === 503 && response.headers[HANDED_BACK_HEADER] === '1') return { kind: 'handed_back', error: errorText(output) ?? 'handed back' };
      const reason = errorText(output);
      return { kind: 'failed', error: `executor answered HTTP ${response.statusCode}${reason === null ? excerpt(output) : `: ${reason}`}`, output };
    } catch (error) {
      if (signal.aborted) return { kind: 'aborted' };
      // A refused address is the task's (or the node's) fault, not a node that went away.
      const denied = outboundDenial(error);
      if (denied) return { kind: 'failed', error: `request to ${origin(target.url)} refused: ${denied}` };
      return { kind: 'failed', error: `request to ${origin(target.url)} failed: ${describe(error)}`, unreachable: true };
    }
  }

  /** Asks the executor to stop an attempt. Best effort: failures are returned, not thrown. */
  async cancel(target: HttpTarget, body: CancelRequest, namespace?: string): Promise<{ ok: boolean; error?: string }> {
    try {
      const response = await this.#control(target, 'cancel', JSON.stringify(body), namespace);
      await response.body.dump();
      return response.statusCode < 300 ? { ok: true } : { ok: false, error: `HTTP ${response.statusCode}` };
    } catch (error) {
      return { ok: false, error: describe(error) };
    }
  }

  /** Asks the executor what became of an attempt; `unknown` when it cannot say. */
  /**
   * Asks the executor about an attempt. `unknown` is the executor's own answer (it never received
   * the attempt); `no-answer` means no usable reply (unreachable, timeout, not 200, not a status).
   */
  async status(target: HttpTarget, body: StatusRequest, namespace?: string): Promise<StatusReply | { status: 'no-answer' }> {
    try {
      const response = await this.#control(target, 'status', JSON.stringify(body), namespace);
      if (response.statusCode !== 200) {
        await response.body.dump();
        return { status: 'no-answer' };
      }
      const parsed = StatusReplySchema.safeParse(await response.body.json());
      return parsed.success ? parsed.data : { status: 'no-answer' };
    } catch {
      return { status: 'no-answer' };
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.#agent, ...[...this.#namespaceAgents.values()].map((a) => a.agent)].map((agent) => agent.close()));
  }

  #control(target: HttpTarget, event: 'cancel' | 'status', body: string, namespace?: string) {
    return request(target.cancelUrl ?? target.url, {
      method: 'POST',
      dispatcher: this.#agentFor(namespace),
      headers: this.#headers(target, body, event),
      body,
      signal: AbortSignal.timeout(this.#options.controlTimeoutMs),
    });
  }

  #headers(target: HttpTarget, body: string, event: 'run' | 'cancel' | 'status'): Record<string, string> {
    return {
      ...target.headers,
      'content-type': 'application/json',
      [EVENT_HEADER]: event,
      [SIGNATURE_HEADER]: signBody(target.secret ?? this.#options.signingKey, body, this.#options.clock.now(), this.#nonces.next()),
    };
  }
}

/**
 * undici's connector behind the outbound policy: an address in the URL is checked before the
 * socket opens; a name is checked with each address it resolves to, by the socket's own lookup
 * (so the check and the connection use the same answer).
 */
export function policedConnector(policy: OutboundPolicy): buildConnector.connector {
  const connect = buildConnector({ lookup: policy.lookup } as buildConnector.BuildOptions);
  return (options, callback) => {
    const denied = policy.checkHost(options.hostname);
    if (denied) {
      const error: NodeJS.ErrnoException = new Error(`${OUTBOUND_DENIED}: ${denied}`);
      error.code = OUTBOUND_DENIED;
      callback(error, null);
      return;
    }
    connect(options, callback);
  };
}

/** The OUTBOUND_DENIED message of a failed request (undici may wrap the connector's error), or null. */
export function outboundDenial(error: unknown): string | null {
  for (let e = error as { code?: unknown; message?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    if (e.code === OUTBOUND_DENIED && typeof e.message === 'string') return e.message;
  }
  return null;
}

/**
 * Signature nonces (12 random bytes, hex, as `signBody` makes them) cut from one buffer that is
 * refilled from the CSPRNG every 4096 nonces: a `randomBytes(12)` call per request cost more than
 * the HMAC itself under load.
 */
class NoncePool {
  readonly #buffer = Buffer.alloc(12 * 4096);
  #offset = this.#buffer.length;

  next(): string {
    if (this.#offset >= this.#buffer.length) {
      randomFillSync(this.#buffer);
      this.#offset = 0;
    }
    const nonce = this.#buffer.toString('hex', this.#offset, this.#offset + 12);
    this.#offset += 12;
    return nonce;
  }
}

/** Reads at most OUTPUT_BYTES_CAP of a reply: JSON is parsed, other text kept as a string. */
async function readOutput(body: AsyncIterable<Buffer> & { dump(): Promise<void> }, contentType: string | string[] | undefined): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > OUTPUT_BYTES_CAP) {
      await body.dump();
      return { truncated: true, bytes: size };
    }
    chunks.push(chunk);
  }
  if (size === 0) return null;
  const text = Buffer.concat(chunks).toString('utf8');
  if (String(contentType ?? '').includes('json')) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

/** The executor's span, from a `traceparent` header of its reply (linked from the dispatch span). */
function executorSpan(header: string | string[] | undefined): { traceparent?: string } {
  return typeof header === 'string' && parseTraceparent(header) ? { traceparent: header } : {};
}

/** The message of an executor's `{ "error": "…" }` answer (what the SDK sends when a handler throws). */
function errorText(output: unknown): string | null {
  if (output === null || typeof output !== 'object') return null;
  const error = (output as { error?: unknown }).error;
  if (typeof error === 'string') return error;
  if (error && typeof error === 'object' && typeof (error as { message?: unknown }).message === 'string') {
    const { code, message } = error as { code?: unknown; message: string };
    return typeof code === 'string' ? `${code}: ${message}` : message;
  }
  return null;
}

/** `: <first 300 characters of the reply>` for error messages, or nothing for an empty reply. */
function excerpt(output: unknown): string {
  if (output === null || output === undefined) return '';
  const text = typeof output === 'string' ? output : JSON.stringify(output);
  return `: ${text.length > 300 ? `${text.slice(0, 300)}…` : text}`;
}

function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

function describe(error: unknown): string {
  const e = error as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.code ?? e.cause?.message ?? e.message ?? String(error);
}

/**
 * A dispatcher that passes requests to `agent` and calls `onSent` when undici has written a
 * request to its connection (the request handler's `onRequestSent`).
 */
class SentSignal extends Dispatcher {
  readonly #agent: Agent;
  readonly #onSent: () => void;

  constructor(agent: Agent, onSent: () => void) {
    super();
    this.#agent = agent;
    this.#onSent = onSent;
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const onSent = this.#onSent;
    const legacy = handler as Dispatcher.DispatchHandler & { onRequestSent?: () => void };
    return this.#agent.dispatch(options, new Proxy(legacy, {
      get(target, property, receiver) {
        if (property === 'onRequestSent') {
          return () => {
            onSent();
            return target.onRequestSent?.();
          };
        }
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }));
  }
}
