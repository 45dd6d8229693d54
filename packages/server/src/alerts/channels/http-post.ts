/**
 * One JSON POST of an alert channel, under the outbound policy of the channel's namespace: the
 * connections are made by `policedConnector` (`dispatch/http-dispatcher.ts`), which checks the host
 * and every address it resolves to at connect time, as for http targets and event webhooks. Each
 * request has a deadline (`timeoutMs`, from connect to the end of the answer), and at most 64 KiB
 * of the answer is read.
 *
 * Connections are kept per namespace while its policy stays the same object, and made again when
 * its rules change (the policy is replaced), as `HttpDispatcher` does.
 */
import { Agent, request } from 'undici';
import { policedConnector } from '../../dispatch/http-dispatcher.ts';
import type { OutboundPolicies, OutboundPolicy } from '../../dispatch/outbound-policy.ts';

/** The most of an answer read (a platform's JSON verdict is a few dozen bytes). */
const MAX_ANSWER_BYTES = 64 * 1024;

export interface HttpAnswer {
  status: number;
  /** The answer's first 64 KiB, as UTF-8. */
  text: string;
}

export interface PostJsonParams {
  namespace: string;
  url: string;
  body: string;
  headers?: Record<string, string>;
  timeoutMs: number;
  signal?: AbortSignal;
}

export class PolicedHttpClient {
  readonly #outbound: OutboundPolicies;
  readonly #agents = new Map<string, { policy: OutboundPolicy; agent: Agent }>();
  readonly #closing = new AbortController();

  constructor(outbound: OutboundPolicies) {
    this.#outbound = outbound;
  }

  #agentFor(namespace: string): Agent {
    const policy = this.#outbound.of(namespace);
    const known = this.#agents.get(namespace);
    if (known?.policy === policy) return known.agent;
    if (known) void known.agent.close().catch(() => {});
    const agent = new Agent({ connections: 4, keepAliveTimeout: 30_000, pipelining: 1, connect: policedConnector(policy) });
    this.#agents.set(namespace, { policy, agent });
    return agent;
  }

  /** POSTs `body` as JSON; throws what undici throws (OUTBOUND_DENIED inside, a TimeoutError…) when there is no answer. */
  async postJson(params: PostJsonParams): Promise<HttpAnswer> {
    if (this.#closing.signal.aborted) throw new Error('the alert channels are closed');
    const signals = [this.#closing.signal, AbortSignal.timeout(params.timeoutMs)];
    if (params.signal) signals.push(params.signal);
    const signal = AbortSignal.any(signals);
    const response = await request(params.url, {
      method: 'POST',
      dispatcher: this.#agentFor(params.namespace),
      headers: { ...params.headers, 'content-type': 'application/json; charset=utf-8' },
      body: params.body,
      signal,
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      if (size < MAX_ANSWER_BYTES) chunks.push(chunk.subarray(0, MAX_ANSWER_BYTES - size));
      size += chunk.length;
    }
    return { status: response.statusCode, text: Buffer.concat(chunks).toString('utf8') };
  }

  async close(): Promise<void> {
    this.#closing.abort();
    const agents = [...this.#agents.values()];
    this.#agents.clear();
    await Promise.all(agents.map(({ agent }) => agent.destroy().catch(() => {})));
  }
}

/** The answer's JSON object, or null when it is not one. */
export function parseJsonObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value as Record<string, unknown> : null;
  } catch {
    return null;
  }
}
