/** The executor's options, each documented at its field, and their resolution into a frozen object. */
import { hostname } from 'node:os';
import { ExecutorNodeIdSchema } from '@ecron/contracts';
import { parseBaseUrl } from './api-request.ts';
import { ExecutorError } from './errors.ts';
import { silentLogger, stderrLogger, type SdkLogger } from './log.ts';
import { SDK_VERSION } from './version.ts';

const GROUP = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface ExecutorOptions {
  /** Base URL of the ecron API, such as `http://127.0.0.1:7070` (not needed with `register: false`). */
  server?: string;
  /**
   * API bearer token: role `executor` (registration, heartbeats, taking runs; nothing else), or
   * `editor` or `admin`, which `executor.task()` needs as it creates tasks. Not needed with `register: false`.
   */
  token?: string;
  /**
   * Whether the node joins the registry. `false`: push mode over HTTP without the registry; the
   * node only serves runs at its listen address, which an executor group's static list or DNS name
   * points at (docs/executors.md "Discovery: static lists and DNS"). It then needs the group's
   * `secret`, and neither `server` nor `token`; it declares no tasks.
   * @default true
   */
  register?: boolean;
  /** With `register: false`: the group's signing secret (the answer of `PUT /api/v1/executor-groups/…`). */
  secret?: string;
  /** Executor group ("app") this node joins; tasks target it by this name. */
  group: string;
  /**
   * The namespace of the group: the node runs that namespace's tasks only, and `token` must cover
   * it. @default 'default'
   */
  namespace?: string;
  /**
   * This node's id in the registry; a restarted process with the same id replaces the old entry.
   * @default `${os.hostname()}-${process.pid}`
   */
  id?: string;
  /** Labels that routing selectors match. @default {} */
  labels?: Record<string, string>;
  /** Share of weighted routing, 1 to 1000. @default 1 */
  weight?: number;
  /**
   * `push`: the server sends runs to this node's HTTP listener. `pull`: the node long-polls for
   * them, for networks where only the executor can open connections. `stream`: the node registers
   * as a pull node and holds one WebSocket to each API node, over which runs come and results go
   * back in signed batches, as many as `maxConcurrency` allows (the fastest mode; it needs a
   * server that serves `GET /api/v1/executors/{id}/stream`).
   * @default 'push'
   */
  mode?: 'push' | 'pull' | 'stream';
  /**
   * Push mode: the protocol the server sends runs with. `grpc` serves the Executor service of
   * executor.proto (the same signed requests, over HTTP/2) and registers `host:port`.
   * @default 'http'
   */
  transport?: 'http' | 'grpc';
  /** Push mode: where to listen. @default { host: '127.0.0.1', port: 0 } (an ephemeral port) */
  listen?: { host?: string; port?: number };
  /** Push mode: the URL (`host:port` with gRPC) the server should call, when it differs from the listen address (NAT, proxies). */
  advertiseUrl?: string;
  /**
   * How long stop() waits for runs in flight before handing the rest back to the scheduler.
   * @default 10000
   */
  shutdownGraceMs?: number;
  /** The SDK's own diagnostics. @default silent, or JSON lines on stderr when ECRON_SDK_DEBUG is set */
  log?: SdkLogger;
  /** Pull and stream modes: most runs in flight at once (more wait on the server). @default 64 */
  maxConcurrency?: number;
  /** Pull mode: longest wait of one poll, in ms (0 to 30000). @default 20000 */
  pollWaitMs?: number;
  /**
   * Stream mode: longest wait for more results before a frame of them goes out, in ms (a full
   * batch goes at once). Longer batches more results per frame; shorter answers sooner.
   * @default 2
   */
  streamLingerMs?: number;
  /** Version shown in the registry, up to 64 characters. @default the SDK's version */
  version?: string;
  /** Time limit of each API call (registration, results), in ms. @default 10000 */
  requestTimeoutMs?: number;
  /** Least time between two batches of log lines to the callback, in ms. @default 200 */
  reportIntervalMs?: number;
}

export interface ResolvedExecutorOptions {
  readonly server: string;
  readonly token: string;
  readonly register: boolean;
  /** The group's secret given with `register: false`; null when the registry gives it. */
  readonly secret: string | null;
  readonly group: string;
  readonly namespace: string;
  readonly id: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly weight: number;
  readonly mode: 'push' | 'pull' | 'stream';
  readonly transport: 'http' | 'grpc';
  readonly listen: { readonly host: string; readonly port: number };
  readonly advertiseUrl: string | null;
  readonly shutdownGraceMs: number;
  readonly log: SdkLogger;
  readonly maxConcurrency: number;
  readonly pollWaitMs: number;
  readonly streamLingerMs: number;
  readonly version: string;
  readonly requestTimeoutMs: number;
  readonly reportIntervalMs: number;
}

/** Validates the options and fills in defaults; throws EXECUTOR_CONFIG_INVALID naming the field. */
export function resolveExecutorOptions(options: ExecutorOptions, env: Record<string, string | undefined> = {}): ResolvedExecutorOptions {
  const invalid = (message: string) => new ExecutorError('EXECUTOR_CONFIG_INVALID', message);
  if (!options || typeof options !== 'object') throw invalid('options are required: { server, token, group }');
  const register = options.register ?? true;
  if (register) {
    try {
      parseBaseUrl(options.server ?? '');
    } catch (error) {
      throw invalid((error as Error).message);
    }
    if (typeof options.token !== 'string' || options.token === '') throw invalid('token is required (an API token with the executor or editor role)');
  } else {
    if (typeof options.secret !== 'string' || options.secret === '') throw invalid('secret is required with register: false (the executor group\'s signing secret)');
    if ((options.mode ?? 'push') !== 'push' || (options.transport ?? 'http') !== 'http') throw invalid('register: false is for push mode over http');
  }
  if (typeof options.group !== 'string' || !GROUP.test(options.group)) {
    throw invalid(`group ${JSON.stringify(options.group)} must be 1-128 characters: letters, digits, ".", "_" or "-", starting with a letter or digit`);
  }
  const namespace = options.namespace ?? 'default';
  if (typeof namespace !== 'string' || !GROUP.test(namespace)) {
    throw invalid(`namespace ${JSON.stringify(namespace)} must be 1-128 characters: letters, digits, ".", "_" or "-", starting with a letter or digit`);
  }
  const id = options.id ?? defaultNodeId();
  if (!ExecutorNodeIdSchema.safeParse(id).success) {
    throw invalid(`id ${JSON.stringify(id)} must be 1-128 characters: letters, digits, ".", "_", ":", "@" or "-", starting with a letter or digit`);
  }
  const mode = options.mode ?? 'push';
  if (mode !== 'push' && mode !== 'pull' && mode !== 'stream') throw invalid(`mode must be "push", "pull" or "stream", not ${JSON.stringify(mode)}`);
  const weight = options.weight ?? 1;
  if (!Number.isInteger(weight) || weight < 1 || weight > 1000) throw invalid(`weight must be an integer from 1 to 1000, not ${weight}`);
  const port = options.listen?.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw invalid(`listen.port must be 0 to 65535, not ${port}`);
  const transport = options.transport ?? 'http';
  if (transport !== 'http' && transport !== 'grpc') throw invalid(`transport must be "http" or "grpc", not ${JSON.stringify(transport)}`);
  if (transport === 'grpc' && mode !== 'push') throw invalid(`transport "grpc" is for push mode; ${mode} mode opens its own connections to the API`);
  if (transport === 'grpc' && options.advertiseUrl !== undefined) {
    if (!/^[A-Za-z0-9.[\]:-]+:\d{1,5}$/.test(options.advertiseUrl)) throw invalid(`advertiseUrl must be host:port with transport "grpc", not ${JSON.stringify(options.advertiseUrl)}`);
  } else if (options.advertiseUrl !== undefined) {
    try {
      parseBaseUrl(options.advertiseUrl, 'advertiseUrl');
    } catch (error) {
      throw invalid((error as Error).message);
    }
  }
  const shutdownGraceMs = nonNegative('shutdownGraceMs', options.shutdownGraceMs ?? 10_000);
  const maxConcurrency = options.maxConcurrency ?? 64;
  if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1) throw invalid(`maxConcurrency must be a positive integer, not ${maxConcurrency}`);
  const pollWaitMs = nonNegative('pollWaitMs', options.pollWaitMs ?? 20_000);
  if (pollWaitMs > 30_000) throw invalid('pollWaitMs must be at most 30000');
  const version = options.version ?? SDK_VERSION;
  if (version.length > 64) throw invalid('version must be at most 64 characters');
  const labels = { ...options.labels };
  for (const [key, value] of Object.entries(labels)) if (typeof value !== 'string') throw invalid(`label ${key} must be a string`);
  return Object.freeze({
    server: options.server ?? '',
    token: options.token ?? '',
    register,
    secret: register ? null : options.secret!,
    group: options.group,
    namespace,
    id,
    labels: Object.freeze(labels),
    weight,
    mode,
    transport,
    listen: Object.freeze({ host: options.listen?.host ?? '127.0.0.1', port }),
    advertiseUrl: options.advertiseUrl ?? null,
    shutdownGraceMs,
    log: options.log ?? (env.ECRON_SDK_DEBUG ? stderrLogger : silentLogger),
    maxConcurrency,
    pollWaitMs,
    streamLingerMs: nonNegative('streamLingerMs', options.streamLingerMs ?? 2),
    version,
    requestTimeoutMs: nonNegative('requestTimeoutMs', options.requestTimeoutMs ?? 10_000) || 10_000,
    reportIntervalMs: nonNegative('reportIntervalMs', options.reportIntervalMs ?? 200),
  });

  function nonNegative(name: string, value: number): number {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw invalid(`${name} must be a number of milliseconds >= 0, not ${value}`);
    return value;
  }
}

/** `${hostname}-${pid}`, with characters the registry does not allow replaced by "-". */
function defaultNodeId(): string {
  const host = hostname().replace(/[^A-Za-z0-9._:@-]/g, '-').replace(/^[^A-Za-z0-9]+/, '') || 'executor';
  return `${host.slice(0, 100)}-${process.pid}`;
}
