/**
 * The REST API of the `api` role, as a Fastify instance that is built here and listened on
 * elsewhere (tests drive it with `inject()`). Routes live in `routes/`, one file per resource;
 * authentication in `auth.ts`; error answers in `errors.ts`.
 */
import { randomBytes } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import fastifyHelmet from '@fastify/helmet';
import fastifySwagger from '@fastify/swagger';
import fastifyWebsocket from '@fastify/websocket';
import { STREAM_MAX_FRAME_BYTES, STREAM_SUBPROTOCOL, STREAM_SUBPROTOCOL_TIMED } from '@ecron/contracts/executor-stream';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler } from 'fastify-type-provider-zod';
import type { Clock } from '../core/clock.ts';
import type { RunControl } from '../scheduler/run-control.ts';
import type { Store } from '../store/store.ts';
import { createRunService } from '../services/run-service.ts';
import { createTaskService } from '../services/task-service.ts';
import { createTaskBatchService } from '../services/task-batch-service.ts';
import { createTaskBulkService } from '../services/task-bulk-service.ts';
import { createIdempotencyService } from '../services/idempotency.ts';
import { createWorkflowService } from '../services/workflow-service.ts';
import { createBackfillService } from '../services/backfill-service.ts';
import { createNamespaceService } from '../services/namespace-service.ts';
import { createTokenService } from '../services/tokens.ts';
import { createSessionService } from '../services/sessions.ts';
import type { OidcConfig } from '../sso/config.ts';
import { OidcClient } from '../sso/oidc-client.ts';
import { installAuth } from './auth.ts';
import { DEFAULT_AUTH_FAILURE_LIMIT, installAuthFailureLimit, type AuthFailureLimit } from './auth-failures.ts';
import { consoleRoutes } from './console.ts';
import { BODY_LIMIT_BYTES, installErrorHandling } from './errors.ts';
import { RequestLogController } from './request-log.ts';
import { SECURITY_HEADERS } from './security-headers.ts';
import { auditRoutes } from './routes/audit.ts';
import { healthRoutes } from './routes/health.ts';
import { meRoutes } from './routes/me.ts';
import { runRoutes } from './routes/runs.ts';
import { mapReduceRoutes } from './routes/map-reduce.ts';
import { scheduleRoutes } from './routes/schedules.ts';
import { statsRoutes } from './routes/stats.ts';
import { taskRoutes } from './routes/tasks.ts';
import { taskBulkRoutes } from './routes/task-bulk.ts';
import { workflowRoutes } from './routes/workflows.ts';
import { backfillRoutes } from './routes/backfills.ts';
import { nodeRoutes } from './routes/nodes.ts';
import { executorRoutes } from './routes/executors.ts';
import { executorPullRoutes } from './routes/executor-pull.ts';
import { executorGroupRoutes } from './routes/executor-groups.ts';
import { createExecutorGroupService } from '../services/executor-group-service.ts';
import type { ExecutorDirectory } from '../dispatch/executor-directory.ts';
import type { PullHub } from '../dispatch/pull-hub.ts';
import { tokenRoutes } from './routes/tokens.ts';
import { eventRoutes } from './routes/events.ts';
import { eventSubscriptionRoutes } from './routes/event-subscriptions.ts';
import { createEventSubscriptionService } from '../services/event-subscription-service.ts';
import type { SinkDeps } from '../events/sinks/create-sink.ts';
import { OutboundPolicy, type OutboundPolicies } from '../dispatch/outbound-policy.ts';
import { AlertChannelSenders } from '../alerts/channels/senders.ts';
import { createAlertChannelService } from '../services/alert-channel-service.ts';
import { createAlertRuleService } from '../services/alert-rule-service.ts';
import { createAlertSilenceService } from '../services/alert-silence-service.ts';
import { alertChannelRoutes } from './routes/alert-channels.ts';
import { alertRuleRoutes } from './routes/alert-rules.ts';
import { alertSilenceRoutes } from './routes/alert-silences.ts';
import { incidentRoutes } from './routes/incidents.ts';
import { createIncidentService } from '../services/incident-service.ts';
import { EventLog } from '../events/event-log.ts';
import { metricsRoutes, type MetricsSource } from './routes/metrics.ts';
import { installRequestInstrumentation } from './request-instrumentation.ts';
import type { Instrumentation } from '../observability/instrumentation.ts';
import { namespaceRoutes } from './routes/namespaces.ts';
import { SSO_CALLBACK_PATH, ssoApiRoutes, ssoBrowserRoutes, type SsoRouteDeps } from './routes/sso.ts';

export const API_PREFIX = '/api/v1';

export interface AppDeps {
  store: Store;
  /** The scheduler, for triggers, cancels, executor reports and change notices. */
  control: RunControl;
  clock: Clock;
  /**
   * A pino logger for request logs (one line per request, see `request-log.ts`) and errors, or
   * false for none.
   * @default false — the entry point passes its logger; tests stay quiet.
   */
  logger?: FastifyBaseLogger | false;
  /** Reported by `/openapi.json`. */
  version: string;
  /**
   * The URL clients reach this server at, listed as the server in `/openapi.json`.
   * @default none (clients use the URL they fetched the document from)
   */
  publicUrl?: string;
  /** Pull-mode deliveries of this node's scheduler; without it, the poll routes are not served. */
  pull?: PullHub;
  /** The scheduler's view of the executor registry (saves a store read per poll). */
  directory?: ExecutorDirectory;
  /**
   * The web console's build directory, served at `/`.
   * @default packages/console/dist of this checkout
   */
  consoleDir?: string;
  /**
   * Failed authentications allowed per client address and window (see `auth-failures.ts`).
   * @default 20 per minute
   */
  authFailureLimit?: AuthFailureLimit;
  /** Called after a namespace was written or deleted through this app (the outbound policies read them again). */
  onNamespaceChange?: () => Promise<void>;
  /**
   * Sign-in with an OpenID Connect provider for the console (`routes/sso.ts`), and the session
   * cookie as a credential beside bearer tokens. `publicUrl`: the URL browsers reach this server
   * at, read at each sign-in (the provider redirects to `PUBLIC_URL/auth/sso/callback`).
   * @default none: tokens only
   */
  sso?: { config: OidcConfig; publicUrl: () => string };
  /**
   * The event log this node follows, served at `/api/v1/events`.
   * @default one of the app's own, started with it and stopped when it closes
   */
  events?: EventLog;
  /**
   * Event subscriptions: what their sinks connect with (a replay of dead letters is sent from the
   * API node), and what to call after one changed (this node's deliverer claims again).
   * @default the default outbound policy; nothing called
   */
  subscriptions?: { sinks?: SinkDeps; onChange?: () => Promise<void> };
  /**
   * Alert channels: the senders that "send a test" goes through (the server's one instance, closed
   * by the server), and the outbound policies a channel's address is checked against when written.
   * @default senders of the app's own over the default outbound policy, closed with the app
   */
  alerts?: { senders: AlertChannelSenders; outbound: OutboundPolicies };
  /** Hears every answered request (`apiRequest`, by route pattern). @default none */
  instrumentation?: Instrumentation;
  /** The Prometheus exposition served at `GET /metrics` (role admin). @default none: no such route */
  metrics?: MetricsSource;
}

/** The session cookie's name: with `__Host-` under https, which the browser keeps to this host, path `/` and Secure. */
export const sessionCookieName = (secure: boolean): string => (secure ? '__Host-ecron_session' : 'ecron_session');

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { store, control, clock } = deps;
  const app: FastifyInstance = deps.logger
    ? Fastify({ loggerInstance: deps.logger, logController: new RequestLogController(), bodyLimit: BODY_LIMIT_BYTES })
    : Fastify({ logger: false, bodyLimit: BODY_LIMIT_BYTES });

  const tokens = createTokenService({ store, clock });
  const tasks = createTaskService({ store, control, clock });
  const idempotency = createIdempotencyService({ store, clock });
  const runs = createRunService({ store, control, clock });
  const workflows = createWorkflowService({ store, control, clock });
  const backfills = createBackfillService({ store, control, clock });
  const namespaces = createNamespaceService({ store, clock, ...(deps.onNamespaceChange ? { onChange: deps.onNamespaceChange } : {}) });

  app.setSerializerCompiler(serializerCompiler);
  installErrorHandling(app);
  if (deps.instrumentation) installRequestInstrumentation(app, deps.instrumentation);
  // First of the onRequest hooks: the answers the later ones refuse with (401, 429) carry the headers too.
  await app.register(fastifyHelmet, SECURITY_HEADERS);
  const countFailure = await installAuthFailureLimit(app, deps.authFailureLimit ?? DEFAULT_AUTH_FAILURE_LIMIT);
  // Before the auth hook: an upgrade refused by it must still have its socket closed (the plugin's own hooks).
  await app.register(fastifyWebsocket, { options: { maxPayload: STREAM_MAX_FRAME_BYTES, handleProtocols: chooseStreamProtocol } });
  let sso: SsoRouteDeps | null = null;
  if (deps.sso) {
    const { config, publicUrl } = deps.sso;
    const secure = publicUrl().startsWith('https:');
    // Signs the cookie of a sign-in under way; shared by the cluster, so a callback may reach another node.
    const cookieKey = await store.ensureSecret({ name: 'sso-login-cookie-key', candidate: randomBytes(32).toString('base64url') });
    await app.register(fastifyCookie, { secret: cookieKey });
    sso = {
      config, secure, store, cookieName: sessionCookieName(secure), sessions: createSessionService({ store, clock }),
      client: new OidcClient(config, () => `${publicUrl().replace(/\/+$/, '')}${SSO_CALLBACK_PATH}`),
    };
  } else {
    await app.register(fastifyCookie);
  }
  installAuth(app, { tokens, countFailure, ...(sso ? { sessions: { service: sso.sessions, cookieName: sso.cookieName } } : {}) });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'ecron API',
        description: 'Distributed task scheduler. Errors are `{ error: { code, message, details? } }` with a stable code.',
        version: deps.version,
      },
      servers: deps.publicUrl ? [{ url: deps.publicUrl }] : [],
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } },
    },
    transform: jsonSchemaTransform,
  });

  app.get('/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () => app.swagger());
  await app.register(healthRoutes, { store, control });
  if (deps.metrics) await app.register(metricsRoutes, { source: deps.metrics });
  await app.register(taskRoutes, { prefix: API_PREFIX, tasks, store, idempotency });
  await app.register(taskBulkRoutes, {
    prefix: API_PREFIX, idempotency, batch: createTaskBatchService({ store, control, clock }), bulk: createTaskBulkService({ tasks }),
  });
  await app.register(runRoutes, { prefix: API_PREFIX, runs, clock });
  if (control.maps) await app.register(mapReduceRoutes, { prefix: API_PREFIX, maps: control.maps, runs, store });
  await app.register(workflowRoutes, { prefix: API_PREFIX, workflows });
  await app.register(backfillRoutes, { prefix: API_PREFIX, backfills, tasks, workflows });
  await app.register(scheduleRoutes, { prefix: API_PREFIX, clock });
  await app.register(tokenRoutes, { prefix: API_PREFIX, tokens, clock });
  await app.register(namespaceRoutes, { prefix: API_PREFIX, namespaces });
  await app.register(auditRoutes, { prefix: API_PREFIX, store });
  await app.register(nodeRoutes, { prefix: API_PREFIX, store });
  await app.register(executorRoutes, { prefix: API_PREFIX, store });
  let events = deps.events;
  if (!events) {
    const own = new EventLog({ store });
    await own.start();
    app.addHook('onClose', () => own.stop());
    events = own;
  }
  await app.register(eventRoutes, { prefix: API_PREFIX, events, store, clock });
  await app.register(eventSubscriptionRoutes, {
    prefix: API_PREFIX,
    subscriptions: createEventSubscriptionService({
      store, clock, sinks: deps.subscriptions?.sinks ?? { outbound: new OutboundPolicy(), clock },
      ...(deps.subscriptions?.onChange ? { onChange: deps.subscriptions.onChange } : {}),
    }),
  });
  let alerts = deps.alerts;
  if (!alerts) {
    const outbound = new OutboundPolicy();
    const senders = new AlertChannelSenders({ outbound, clock });
    app.addHook('onClose', () => senders.close());
    alerts = { senders, outbound };
  }
  await app.register(alertChannelRoutes, { prefix: API_PREFIX, channels: createAlertChannelService({ store, clock, ...alerts }) });
  await app.register(alertRuleRoutes, { prefix: API_PREFIX, rules: createAlertRuleService({ store, clock }) });
  await app.register(alertSilenceRoutes, { prefix: API_PREFIX, silences: createAlertSilenceService({ store, clock }) });
  await app.register(incidentRoutes, { prefix: API_PREFIX, incidents: createIncidentService({ store, clock }) });
  const directory = deps.directory;
  await app.register(executorGroupRoutes, {
    prefix: API_PREFIX,
    groups: createExecutorGroupService({ store, clock, outbound: alerts.outbound, ...(directory ? { status: (ref) => directory.discoveryStatus(ref) } : {}) }),
  });
  if (deps.pull) await app.register(executorPullRoutes, { prefix: API_PREFIX, store, pull: deps.pull, ...(deps.directory ? { directory: deps.directory } : {}) });
  await app.register(statsRoutes, { prefix: API_PREFIX, store, clock });
  await app.register(meRoutes, { prefix: API_PREFIX });
  await app.register(ssoApiRoutes, { prefix: API_PREFIX, sso });
  await app.register(ssoBrowserRoutes, { sso });
  await app.register(consoleRoutes, { distDir: deps.consoleDir });
  return app;
}

/** The stream's subprotocol: the timed one when the executor offers it (see `@ecron/contracts/executor-stream`). */
function chooseStreamProtocol(protocols: Set<string>): string | false {
  if (protocols.has(STREAM_SUBPROTOCOL_TIMED)) return STREAM_SUBPROTOCOL_TIMED;
  return protocols.has(STREAM_SUBPROTOCOL) ? STREAM_SUBPROTOCOL : false;
}
