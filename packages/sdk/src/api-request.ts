/**
 * JSON over the global fetch, shared by the API client, the executor's registry calls and the
 * callback reports. Every failure becomes an {@link EcronApiError} with a stable code.
 */
import { describeNetworkError } from './network-error.ts';
import { EcronApiError } from './errors.ts';

export type QueryValue = string | number | boolean | Date | null | undefined;

/** Where and as whom to call the ecron API. */
export interface ApiConnection {
  /** Base URL of the API, such as `http://127.0.0.1:7070`; a path prefix is kept. */
  server: string;
  token: string;
  /** Per-request time limit in ms. */
  timeoutMs: number;
  userAgent: string;
}

export interface ApiCall {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path under the base URL, such as `/api/v1/tasks`. */
  path: string;
  /** Undefined, null and empty values are left out; dates are sent as ISO-8601. */
  query?: Record<string, QueryValue> | undefined;
  /** Sent as JSON when defined. */
  body?: unknown;
  signal?: AbortSignal | undefined;
  /** Overrides the connection's time limit (long polls). */
  timeoutMs?: number | undefined;
}

/** Parses and checks a server base URL. Throws a plain Error naming the problem. */
export function parseBaseUrl(server: string, what = 'server'): URL {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new Error(`${what} "${server}" is not a URL (example: http://127.0.0.1:7070)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${what} "${server}" must be an http:// or https:// URL`);
  return url;
}

export function apiUrl(server: string, path: string, query?: Record<string, QueryValue>): URL {
  const url = new URL(server);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${path}`;
  url.search = '';
  url.hash = '';
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null || value === '') continue;
    url.searchParams.set(key, value instanceof Date ? value.toISOString() : String(value));
  }
  return url;
}

/** One API call; resolves with the parsed JSON answer (undefined for an empty one). */
export function apiRequest<T>(connection: ApiConnection, call: ApiCall): Promise<T> {
  const url = apiUrl(connection.server, call.path, call.query);
  return sendJson<T>(url, {
    method: call.method,
    token: connection.token,
    body: call.body,
    signal: call.signal,
    timeoutMs: call.timeoutMs ?? connection.timeoutMs,
    userAgent: connection.userAgent,
  });
}

export interface SendOptions {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  token: string;
  body?: unknown;
  signal?: AbortSignal | undefined;
  timeoutMs: number;
  userAgent: string;
}

/** A JSON request to a full URL with a bearer token (callback reports use it directly). */
export async function sendJson<T>(url: URL | string, options: SendOptions): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': options.userAgent };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const target = typeof url === 'string' ? url : url.href;
  let text: string;
  let response: Response;
  try {
    response = await fetch(target, { method: options.method, headers, body, signal });
    text = await response.text();
  } catch (error) {
    const reason = timeout.aborted ? `no answer within ${options.timeoutMs} ms` : options.signal?.aborted ? 'aborted' : describeNetworkError(error);
    throw new EcronApiError({ status: 0, code: 'SERVER_UNREACHABLE', message: `${options.method} ${originOf(target)}: ${reason}`, cause: error });
  }
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
  if (!response.ok) throw errorFrom(response.status, text, parsed);
  if (text.trim() !== '' && !isJson) {
    throw new EcronApiError({
      status: response.status, code: 'UNEXPECTED_RESPONSE',
      message: `${options.method} ${new URL(target).pathname} answered ${response.status} with a body that is not JSON`,
    });
  }
  return parsed as T;
}

function errorFrom(status: number, text: string, parsed: unknown): EcronApiError {
  const error = (parsed as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null | undefined)?.error;
  if (error && typeof error === 'object' && typeof error.code === 'string') {
    return new EcronApiError({
      status, code: error.code, details: error.details,
      message: typeof error.message === 'string' ? error.message : `HTTP ${status}`,
    });
  }
  const snippet = text.trim().replace(/\s+/g, ' ').slice(0, 200);
  return new EcronApiError({ status, code: 'UNEXPECTED_RESPONSE', message: `HTTP ${status}${snippet ? `: ${snippet}` : ''}` });
}

function originOf(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return url;
  }
}
