import { describeNetworkError } from '@ecron/sdk/network-error';
import { CliError } from './cli-error.ts';

export type QueryValue = string | number | boolean | null | undefined;

export interface ApiRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** The path under the server's base URL, such as `/api/v1/tasks`. */
  path: string;
  /** Undefined, null and empty values are left out. */
  query?: Record<string, QueryValue>;
  /** Sent as JSON when defined. */
  body?: unknown;
}

export interface ApiClientOptions {
  /** The server's base URL, such as `http://127.0.0.1:7070`; a path prefix is kept. */
  server: string;
  token?: string | undefined;
  /** Per-request time limit. */
  timeoutMs?: number;
  userAgent?: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** Parses a `--server` value, or throws a usage error naming it. */
export function parseServerUrl(server: string): URL {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new CliError('USAGE', `--server "${server}" is not a URL (example: http://127.0.0.1:7070)`, { exitCode: 2 });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError('USAGE', `--server "${server}" must be an http:// or https:// URL`, { exitCode: 2 });
  }
  return url;
}

/**
 * A small client of the ecron REST API over the global fetch. Answers are parsed JSON; error answers
 * become a {@link CliError} with the server's stable code, message and details.
 */
export class ApiClient {
  readonly server: string;
  readonly #base: URL;
  readonly #token: string | undefined;
  readonly #timeoutMs: number;
  readonly #userAgent: string;

  constructor(options: ApiClientOptions) {
    this.#base = parseServerUrl(options.server);
    this.server = options.server.replace(/\/+$/, '');
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#userAgent = options.userAgent ?? 'ecron-cli';
  }

  get hasToken(): boolean {
    return this.#token !== undefined && this.#token !== '';
  }

  url(path: string, query?: Record<string, QueryValue>): URL {
    const url = new URL(this.#base.href);
    url.pathname = `${url.pathname.replace(/\/+$/, '')}${path}`;
    url.search = '';
    url.hash = '';
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value === undefined || value === null || value === '') continue;
      url.searchParams.set(key, String(value));
    }
    return url;
  }

  async request<T>(req: ApiRequest): Promise<T> {
    const url = this.url(req.path, req.query);
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': this.#userAgent };
    if (this.hasToken) headers.authorization = `Bearer ${this.#token}`;
    let body: string | undefined;
    if (req.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(req.body);
    }
    let response: Response;
    try {
      response = await fetch(url, { method: req.method ?? 'GET', headers, body, signal: AbortSignal.timeout(this.#timeoutMs) });
    } catch (error) {
      const reason = (error as { name?: unknown })?.name === 'TimeoutError'
        ? `no answer within ${this.#timeoutMs / 1000} s`
        : describeNetworkError(error);
      throw new CliError('SERVER_UNREACHABLE', `cannot reach ${this.server}: ${reason}`, { cause: error });
    }
    const text = await response.text().catch((error: unknown) => {
      throw new CliError('SERVER_UNREACHABLE', `cannot reach ${this.server}: ${describeNetworkError(error)}`, { cause: error });
    });
    let parsed: unknown;
    let isJson = false;
    if (text.trim() !== '') {
      try {
        parsed = JSON.parse(text);
        isJson = true;
      } catch {
        parsed = undefined;
      }
    }
    if (!response.ok) throw this.#errorFrom(response, text, parsed, isJson);
    if (text.trim() !== '' && !isJson) {
      throw new CliError('UNEXPECTED_RESPONSE', `${req.method ?? 'GET'} ${url.pathname} answered ${response.status} with a body that is not JSON; is ${this.server} an ecron server?`);
    }
    return parsed as T;
  }

  /**
   * Opens a Server-Sent Events stream (a GET answered 200 `text/event-stream`) and returns its
   * body. The time limit covers the answer's headers only, not the stream. Error answers become a
   * {@link CliError} with the server's code, as in {@link request}.
   */
  async openEventStream(req: ApiRequest & { lastEventId?: string; signal?: AbortSignal }): Promise<ReadableStream<Uint8Array>> {
    const url = this.url(req.path, req.query);
    const headers: Record<string, string> = { accept: 'text/event-stream', 'user-agent': this.#userAgent };
    if (this.hasToken) headers.authorization = `Bearer ${this.#token}`;
    if (req.lastEventId !== undefined) headers['last-event-id'] = req.lastEventId;
    const connect = new AbortController();
    const timer = setTimeout(() => connect.abort(new DOMException('no answer', 'TimeoutError')), this.#timeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, connect.signal]) : connect.signal;
    let response: Response;
    try {
      response = await fetch(url, { method: 'GET', headers, signal });
    } catch (error) {
      const reason = connect.signal.aborted ? `no answer within ${this.#timeoutMs / 1000} s` : describeNetworkError(error);
      throw new CliError('SERVER_UNREACHABLE', `cannot reach ${this.server}: ${reason}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
    const type = response.headers.get('content-type') ?? '';
    if (response.ok && response.body && /^text\/event-stream/i.test(type)) return response.body;
    const text = await response.text().catch(() => '');
    let parsed: unknown;
    let isJson = false;
    try {
      parsed = JSON.parse(text);
      isJson = true;
    } catch {
      parsed = undefined;
    }
    if (!response.ok) throw this.#errorFrom(response, text, parsed, isJson);
    throw new CliError('UNEXPECTED_RESPONSE', `GET ${url.pathname} answered ${response.status} ${type || 'without a content type'}, not an event stream; is ${this.server} an ecron server of this version?`);
  }

  #errorFrom(response: Response, text: string, parsed: unknown, isJson: boolean): CliError {
    const error = isJson ? (parsed as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error : undefined;
    if (error && typeof error.code === 'string') {
      const message = typeof error.message === 'string' ? error.message : `HTTP ${response.status}`;
      return new CliError(error.code, message, { details: error.details });
    }
    const snippet = text.trim().replace(/\s+/g, ' ').slice(0, 200);
    const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
    return new CliError('UNEXPECTED_RESPONSE', `the server answered ${status}${snippet ? `: ${snippet}` : ''}`);
  }
}
