/**
 * The composition root: opens the store, creates the admin token on first start, and runs the
 * roles asked for (api, scheduler) in this process. Everything else receives its dependencies.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApp } from './api/app.ts';
import type { AuthFailureLimit } from './api/auth-failures.ts';
import { systemClock, systemRandom, type Clock } from './core/clock.ts';
import { EcronError } from './core/errors.ts';
import { makePrivateDir } from './data-dir.ts';
import { ExecutorDirectory } from './dispatch/executor-directory.ts';
import { GrpcTransport } from './dispatch/grpc-transport.ts';
import { systemDnsLookup } from './dispatch/group-discovery.ts';
import { HttpDispatcher } from './dispatch/http-dispatcher.ts';
import { NamespacePolicies } from './dispatch/namespace-policies.ts';
import { OutboundPolicy, type OutboundRules } from './dispatch/outbound-policy.ts';
import { ContainerSweep, containerRunTransport } from './dispatch/container-transport.ts';
import { ContainerEngines, installationMark, type EngineConfig } from './containers/engines.ts';
import { PullHub } from './dispatch/pull-hub.ts';
import { EventLog } from './events/event-log.ts';
import { createSink } from './events/sinks/create-sink.ts';
import { AlertChannelSenders } from './alerts/channels/senders.ts';
import { AlertEvaluator } from './alerts/evaluator.ts';
import { AlertNotifier } from './alerts/notifier.ts';
import { SubscriptionDelivery, type SubscriptionDeliveryOptions } from './events/subscriptions.ts';
import { HistoryRetention } from './scheduler/history-retention.ts';
import { Scheduler } from './scheduler/scheduler.ts';
import { BucketLeases } from './scheduler/bucket-leases.ts';
import { loadClusterKeys, loadServerKeys } from './server-keys.ts';
import { ADMIN_TOKEN_FILE, bootstrapAdminToken } from './services/tokens.ts';
import { createStore, describeStore, parseStoreUrl } from './store-config.ts';
import type { OidcConfig } from './sso/config.ts';
import type { Store } from './store/store.ts';
import { VERSION } from './version.ts';
import { combineInstrumentation, type Instrumentation } from './observability/instrumentation.ts';
import { listenForMetrics } from './observability/metrics-listener.ts';
import { observeScheduler } from './observability/scheduler-observer.ts';
import { PrometheusInstrumentation } from './observability/prometheus.ts';
import { timeStore } from './observability/store-timing.ts';
import { tracingFromEnv } from './observability/tracing.ts';

export const ROLES = ['api', 'scheduler'] as const;
/** Run history is kept this long by default (as xxl-job keeps its logs). */
export const DEFAULT_HISTORY_RETENTION_MS = 30 * 86_400_000;
/** Events are kept this long by default: enough for a consumer to come back after a weekend. */
export const DEFAULT_EVENT_RETENTION_MS = 3 * 86_400_000;
export type Role = (typeof ROLES)[number];

export interface ServerOptions {
  /** @default ./.ecron */
  dataDir: string;
  /** @default 7070 */
  port: number;
  /** @default 127.0.0.1 */
  host: string;
  /** Store URL; default: SQLite at DATA_DIR/ecron.db. */
  storeUrl?: string;
  roles: Role[];
  /** Base URL executors call back; default http://HOST:PORT. */
  publicUrl?: string;
  env: Record<string, string | undefined>;
  logger: Logger;
  clock?: Clock;
  /** Runs that ended longer ago than this are deleted, with their attempts and logs. @default 30 days */
  historyRetentionMs?: number;
  /** Events written longer ago than this are deleted from the event log. @default 3 days */
  eventRetentionMs?: number;
  /** Scheduler tuning (tests and benchmarks). */
  scheduler?: { lookAheadMs?: number; pollIntervalMs?: number; misfireThresholdMs?: number; shutdownGraceMs?: number };
  /** Bucket lease timing of a cluster node (see scheduler/bucket-leases.ts for the defaults). */
  leases?: { ttlMs?: number; renewIntervalMs?: number; safetyMarginMs?: number; /** @default process.versions.tz */ tzVersion?: string | null };
  /** This node's id in the cluster. @default HOSTNAME-PID-RANDOM */
  nodeId?: string;
  /** The web console's build directory, served at `/` by the api role. @default packages/console/dist of this checkout */
  consoleDir?: string;
  /** Failed authentications allowed per client address and window, on this node. @default 20 per minute */
  authFailureLimit?: AuthFailureLimit;
  /** Where the server may connect for targets and executor nodes (see dispatch/outbound-policy.ts). @default link-local and metadata addresses denied */
  outbound?: OutboundRules;
  /**
   * The DNS servers that executor group discovery asks (`host`, `host:port`), for DNS names of
   * groups. @default $ECRON_DNS_SERVERS (comma-separated), else the system's (/etc/resolv.conf)
   */
  dnsServers?: string[];
  /** Container engines for `container` targets (`--container-engine NAME=ADDRESS`). @default none */
  containerEngines?: EngineConfig[];
  /** Between SIGTERM and SIGKILL when a container is stopped (cancel, deadline). @default 10000 */
  containerStopGraceMs?: number;
  /** Sign-in to the console with an OpenID Connect provider (`--oidc-config`; see sso/config.ts). @default none: API tokens only */
  oidc?: OidcConfig;
  /**
   * Hears what the scheduler, dispatch, the store and the API report (observability/instrumentation.ts),
   * beside the server's own Prometheus metrics. @default none
   */
  instrumentation?: Instrumentation;
  /** How many tasks get their own `task` label in the metrics; the others count as `task="other"`. 0: no task label. @default 0 */
  metricsTaskLabels?: number;
  /** Also serve `GET /metrics` without authentication on this address (`--metrics-port`, `--metrics-host`). @default none */
  metricsListen?: { port: number; host: string };
  /** Delivery of event subscriptions: lease, claim and retry timing (tests; see events/subscriptions.ts for the defaults). */
  subscriptions?: Pick<SubscriptionDeliveryOptions, 'leaseTtlMs' | 'claimEveryMs' | 'batchSize' | 'maxTries' | 'backoff'>;
}

export interface RunningServer {
  url: string;
  nodeId: string;
  /** The admin token file, when this start created the admin token (first start); else null. */
  adminTokenPath: string | null;
  /**
   * The admin token file of the data dir when it exists (at every start, not only the first),
   * else null: a start after a first start that failed still tells where the token is.
   */
  adminTokenFile: string | null;
  store: Store;
  scheduler: Scheduler | null;
  app: FastifyInstance;
  /** This server's Prometheus metrics (its registry; `GET /metrics` serves them). */
  metrics: PrometheusInstrumentation;
  /** Where the unauthenticated metrics listener listens (`metricsListen`), else null. */
  metricsUrl: string | null;
  stop(): Promise<void>;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const clock = options.clock ?? systemClock;
  const log = options.logger;
  if (!options.roles.includes('api') || !options.roles.includes('scheduler')) {
    throw new EcronError('CONFIG_INVALID', '--roles: every ecron process runs the api and scheduler roles together in this version: use --roles api,scheduler');
  }
  // Bad rules and engine addresses refuse the start before anything opens.
  const outbound = new OutboundPolicy(options.outbound);
  const engines = new ContainerEngines(options.containerEngines ?? []);
  makePrivateDir(options.dataDir);
  const storeConfig = parseStoreUrl(options.storeUrl, options.dataDir);
  const nodeId = options.nodeId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const metrics = new PrometheusInstrumentation({ version: VERSION, nodeId, taskLabels: options.metricsTaskLabels ?? 0 });
  // OpenTelemetry traces, when the OTEL_* environment asks: this instance's own provider, flushed at stop.
  const tracing = tracingFromEnv(options.env, { nodeId, version: VERSION, warn: (message) => log.warn(message) });
  const instrumentation = combineInstrumentation(metrics, tracing, options.instrumentation);
  const store = timeStore(createStore(storeConfig), instrumentation);
  await store.open();
  const cleanup: (() => Promise<void>)[] = [() => store.close()];
  if (tracing) cleanup.unshift(() => tracing.shutdown());
  const exclusive = storeConfig.kind === 'sqlite';
  try {
    const keys = exclusive ? loadServerKeys(options.dataDir, options.env) : await loadClusterKeys(store, options.dataDir, options.env);
    const admin = await bootstrapAdminToken({ store, dataDir: options.dataDir, env: options.env, clock });
    const configuredUrl = options.publicUrl ?? options.env.ECRON_PUBLIC_URL;
    let publicUrl = (configuredUrl ?? `http://${urlHost(options.host)}:${options.port}`).replace(/\/+$/, '');
    const policies = new NamespacePolicies({ store, clock, server: outbound, log: logTo(log) });
    await policies.start();
    cleanup.unshift(async () => policies.stop());
    const dispatcher = new HttpDispatcher({ clock, signingKey: keys.signingKey, outbound: policies });
    cleanup.unshift(() => dispatcher.close());
    const leases = new BucketLeases({
      store, clock: systemClock, nodeId, exclusive,
      node: { address: () => publicUrl, roles: options.roles, version: VERSION, startedAt: Date.now() },
      ...options.leases,
      log: logTo(log, { nodeId }),
    });
    const dnsServers = options.dnsServers ?? options.env.ECRON_DNS_SERVERS?.split(',').map((s) => s.trim()).filter((s) => s !== '');
    const directory = new ExecutorDirectory({ store, clock, log: logTo(log), dns: systemDnsLookup(dnsServers) });
    const pull = new PullHub({ now: () => clock.now() });
    directory.events.on('node:gone', (id) => pull.nodeGone(id));
    const grpc = new GrpcTransport({ clock, directory, signingKey: keys.signingKey, outbound: policies });
    cleanup.unshift(() => grpc.close());
    // Container targets on this node's engines (without any, their runs fail saying how to add
    // one); the sweep removes containers no attempt owns.
    const containers = {
      engines, owner: installationMark(keys.callbackKey), store, clock, log: logTo(log),
      ...(options.containerStopGraceMs !== undefined ? { stopGraceMs: options.containerStopGraceMs } : {}),
    };
    const scheduler = new Scheduler({
      store, clock, random: systemRandom, dispatcher, callbackKey: keys.callbackKey, publicUrl: () => publicUrl, leases,
      executors: { directory, pull, transports: { grpc } },
      transports: { container: containerRunTransport(containers) },
      log: logTo(log),
      ...options.scheduler, instrumentation, ...(tracing ? { dispatchTracer: tracing } : {}),
    });
    // A node that leaves the registry gives its subtasks back at once (map/reduce).
    directory.events.on('node:gone', (id) => scheduler.maps.nodeGone(id));
    observeScheduler(instrumentation, { scheduler, leases, directory });
    const events = new EventLog({ store, log: logTo(log) });
    await events.start();
    cleanup.unshift(() => events.stop());
    const sinks = { outbound: policies, clock };
    const delivery = new SubscriptionDelivery({
      store, events, nodeId, clock, createSink: (subscription) => createSink(subscription, sinks), ...options.subscriptions,
      log: logTo(log, { nodeId }),
    });
    // One set of alert senders for the node: "send a test" from the API, and the incidents' notifications.
    const alertSenders = new AlertChannelSenders({ outbound: policies, clock });
    cleanup.unshift(() => alertSenders.close());
    const app = await buildApp({
      events,
      store, control: scheduler, clock, logger: log, version: VERSION, publicUrl, pull, directory, consoleDir: options.consoleDir,
      ...(options.authFailureLimit ? { authFailureLimit: options.authFailureLimit } : {}),
      onNamespaceChange: () => policies.refresh(),
      ...(options.oidc ? { sso: { config: options.oidc, publicUrl: () => publicUrl } } : {}),
      instrumentation, metrics, subscriptions: { sinks, onChange: () => delivery.refresh() },
      alerts: { senders: alertSenders, outbound: policies },
    });
    cleanup.unshift(() => app.close());
    const address = await app.listen({ port: options.port, host: options.host }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EADDRINUSE') throw error;
      throw new EcronError('ADDRESS_IN_USE', `${options.host}:${options.port} is already in use (another ecron?): stop it, or choose another --port`);
    });
    if (!configuredUrl) publicUrl = `http://${urlHost(options.host)}:${(app.server.address() as AddressInfo).port}`;
    const metricsListener = options.metricsListen ? await listenForMetrics(metrics, options.metricsListen).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EADDRINUSE') throw error;
      throw new EcronError('ADDRESS_IN_USE', `--metrics-port: ${options.metricsListen!.host}:${options.metricsListen!.port} is already in use: choose another`);
    }) : null;
    if (metricsListener) cleanup.unshift(() => metricsListener.close());
    await directory.start();
    cleanup.unshift(async () => directory.stop());
    await scheduler.start();
    cleanup.unshift(() => scheduler.stop());
    if (engines.size > 0) {
      const sweep = new ContainerSweep(containers);
      sweep.start();
      cleanup.unshift(async () => sweep.stop());
    }
    await delivery.start();
    cleanup.unshift(() => delivery.stop());
    // Alerts: one node of the cluster evaluates the rules at a time (a lease); every node sends
    // the notifications that are due.
    const alertEvaluator = new AlertEvaluator({ store, nodeId, clock, log: logTo(log, { nodeId }) });
    alertEvaluator.start();
    cleanup.unshift(() => alertEvaluator.stop());
    const alertNotifier = new AlertNotifier({ store, senders: alertSenders, nodeId, clock, log: logTo(log, { nodeId }) });
    alertNotifier.start();
    cleanup.unshift(() => alertNotifier.stop());
    const retention = new HistoryRetention({
      store, clock, retentionMs: options.historyRetentionMs ?? DEFAULT_HISTORY_RETENTION_MS,
      eventRetentionMs: options.eventRetentionMs ?? DEFAULT_EVENT_RETENTION_MS,
      log: logTo(log),
    });
    retention.start();
    cleanup.unshift(() => retention.stop());
    log.info({ url: address, nodeId, dataDir: resolve(options.dataDir), store: describeStore(storeConfig), version: VERSION, tzVersion: leases.tzVersion }, 'ecron started');
    let stopping: Promise<void> | null = null;
    return {
      url: address,
      nodeId,
      adminTokenPath: admin.created ? admin.path : null,
      adminTokenFile: existsSync(join(options.dataDir, ADMIN_TOKEN_FILE)) ? join(options.dataDir, ADMIN_TOKEN_FILE) : null,
      store,
      scheduler,
      app,
      metrics,
      metricsUrl: metricsListener?.url ?? null,
      stop: () => (stopping ??= runAll(cleanup)),
    };
  } catch (error) {
    await runAll(cleanup).catch(() => {});
    throw error;
  }
}

async function runAll(steps: (() => Promise<void>)[]): Promise<void> {
  for (const step of steps) await step();
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** The `log(level, message, fields)` the components take, writing to the server's pino logger (with `base` fields). */
function logTo(log: Logger, base: Record<string, unknown> = {}) {
  return (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>): void => log[level]({ ...base, ...fields }, message);
}
