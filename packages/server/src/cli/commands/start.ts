import { resolve } from 'node:path';
import type { Command } from 'commander';
import { parseDuration } from '@ecron/contracts';
import pino from 'pino';
import { EcronError } from '../../core/errors.ts';
import { parseEngineConfig } from '../../containers/engines.ts';
import { limitHeapGrowth } from '../heap-growth.ts';
import { ROLES, startServer, type Role } from '../../server.ts';
import { loadOidcConfig } from '../../sso/config.ts';
import { VERSION } from '../../version.ts';

interface StartFlags {
  dataDir: string;
  port: string;
  host: string;
  store?: string;
  roles: string;
  publicUrl?: string;
  logLevel: string;
  historyRetention: string;
  eventRetention: string;
  leaseTtl: string;
  leaseRenew: string;
  leaseMargin: string;
  nodeId?: string;
  authFailureLimit: string;
  authFailureWindow: string;
  outboundAllow?: string;
  outboundDeny?: string;
  oidcConfig?: string;
  metricsPort?: string;
  metricsHost: string;
  metricsTaskLabels: string;
  containerEngine: string[];
  containerStopGrace: string;
}

/** A duration flag in milliseconds, at least `minMs`. */
function durationFlag(name: string, value: string, minMs: number): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms < minMs) throw new EcronError('CONFIG_INVALID', `--${name} ${value}: expected a duration of at least ${minMs} ms, such as "3s"`);
  return ms;
}

/** `ecron start`: runs a server in this process until SIGTERM or SIGINT. */
export function registerStartCommand(program: Command): void {
  program.command('start')
    .description('start an ecron server (all roles, embedded SQLite store by default)')
    .option('--data-dir <dir>', 'data directory: store, keys and admin token', process.env.ECRON_DATA_DIR ?? './.ecron')
    .option('--port <port>', 'port of the API and console', '7070')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--store <url>', 'store URL (default: sqlite:DATA_DIR/ecron.db)')
    .option('--roles <list>', `comma-separated roles: ${ROLES.join(',')}`, 'api,scheduler')
    .option('--public-url <url>', 'base URL executors use for callbacks (default http://HOST:PORT)')
    .option('--log-level <level>', 'log level: fatal, error, warn, info, debug', 'info')
    .option('--history-retention <duration>', 'keep ended runs, their attempts and logs this long (at least 1h)', process.env.ECRON_HISTORY_RETENTION ?? '30d')
    .option('--event-retention <duration>', 'events of the event log (GET /api/v1/events) are kept this long', process.env.ECRON_EVENT_RETENTION ?? '3d')
    .option('--lease-ttl <duration>', 'cluster: how long a bucket lease and a node heartbeat last', '3s')
    .option('--lease-renew <duration>', 'cluster: how often a node heartbeats and renews its leases', '1s')
    .option('--lease-margin <duration>', 'cluster: a node stops using a lease this long before it could expire', '1s')
    .option('--node-id <id>', 'cluster: this node\'s id (default HOSTNAME-PID-RANDOM)')
    .option('--auth-failure-limit <n>', 'requests without a valid token one client address may send per window before it gets 429', process.env.ECRON_AUTH_FAILURE_LIMIT ?? '20')
    .option('--auth-failure-window <duration>', 'the window of --auth-failure-limit, from an address\'s first failure', process.env.ECRON_AUTH_FAILURE_WINDOW ?? '1m')
    .option('--outbound-allow <rules>', 'comma-separated CIDRs, addresses, hosts or *.domains the server may call for targets and executors; with any, only those', process.env.ECRON_OUTBOUND_ALLOW)
    .option('--outbound-deny <rules>', 'comma-separated CIDRs, addresses, hosts or *.domains the server must not call (link-local and metadata addresses always are, unless allowed)', process.env.ECRON_OUTBOUND_DENY)
    .option('--oidc-config <file>', 'sign-in to the console with an OpenID Connect provider: a YAML or JSON file (issuer, clientId, roles; see docs/security.md)', process.env.ECRON_OIDC_CONFIG)
    .option('--metrics-port <port>', 'also serve GET /metrics WITHOUT authentication on this port (for Prometheus; keep it private)', process.env.ECRON_METRICS_PORT)
    .option('--metrics-host <host>', 'address of the --metrics-port listener', process.env.ECRON_METRICS_HOST ?? '127.0.0.1')
    .option('--metrics-task-labels <n>', 'how many tasks get their own "task" label in the metrics (the rest count as task="other"); 0: none', process.env.ECRON_METRICS_TASK_LABELS ?? '0')
    .option('--container-engine <name=address>', 'a Docker Engine API (Docker or Podman) for container targets: NAME=unix:///path.sock, tcp://host:port or https://host:port; an address alone names the "default" engine (repeatable)',
      (value: string, all: string[]) => [...all, value], envList(process.env.ECRON_CONTAINER_ENGINE))
    .option('--container-stop-grace <duration>', 'between SIGTERM and SIGKILL when a container is stopped (cancel, deadline)', process.env.ECRON_CONTAINER_STOP_GRACE ?? '10s')
    .action(async (flags: StartFlags) => {
      const port = Number(flags.port);
      const containerEngines = flags.containerEngine.map((text) => parseEngineConfig(text));
      const containerStopGraceMs = durationFlag('container-stop-grace', flags.containerStopGrace, 0);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new EcronError('CONFIG_INVALID', `--port ${flags.port}: expected a port number 0-65535`);
      const roles = flags.roles.split(',').map((r) => r.trim()).filter(Boolean);
      const unknown = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
      if (unknown.length > 0 || roles.length === 0) throw new EcronError('CONFIG_INVALID', `--roles ${flags.roles}: expected a list of ${ROLES.join(', ')}`);
      if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace'].includes(flags.logLevel)) throw new EcronError('CONFIG_INVALID', `--log-level ${flags.logLevel}: unknown level`);
      const historyRetentionMs = parseDuration(flags.historyRetention);
      if (historyRetentionMs === undefined || historyRetentionMs < 3_600_000) {
        throw new EcronError('CONFIG_INVALID', `--history-retention ${flags.historyRetention}: expected a duration of at least 1h, such as "7d"`);
      }
      const eventRetentionMs = parseDuration(flags.eventRetention);
      if (eventRetentionMs === undefined || eventRetentionMs < 60_000) {
        throw new EcronError('CONFIG_INVALID', `--event-retention ${flags.eventRetention}: expected a duration of at least 1m, such as "3d"`);
      }
      const leases = {
        ttlMs: durationFlag('lease-ttl', flags.leaseTtl, 100),
        renewIntervalMs: durationFlag('lease-renew', flags.leaseRenew, 10),
        safetyMarginMs: durationFlag('lease-margin', flags.leaseMargin, 1),
      };
      if (leases.renewIntervalMs >= leases.ttlMs - leases.safetyMarginMs) {
        throw new EcronError('CONFIG_INVALID', '--lease-renew must be shorter than --lease-ttl minus --lease-margin, so that a lease is renewed before the node stops using it');
      }
      if (flags.nodeId !== undefined && !/^[A-Za-z0-9._:-]{1,100}$/.test(flags.nodeId)) {
        throw new EcronError('CONFIG_INVALID', `--node-id ${flags.nodeId}: use 1-100 letters, digits, '.', '_', ':' or '-'`);
      }
      const authFailureMax = Number(flags.authFailureLimit);
      if (!/^\d+$/.test(flags.authFailureLimit) || authFailureMax < 1 || authFailureMax > 1_000_000) {
        throw new EcronError('CONFIG_INVALID', `--auth-failure-limit ${flags.authFailureLimit}: expected a whole number from 1 to 1000000`);
      }
      const authFailureLimit = { max: authFailureMax, windowMs: durationFlag('auth-failure-window', flags.authFailureWindow, 1000) };
      const metricsListen = flags.metricsPort === undefined ? undefined : { port: portFlag('metrics-port', flags.metricsPort), host: flags.metricsHost };
      const metricsTaskLabels = Number(flags.metricsTaskLabels);
      if (!/^\d+$/.test(flags.metricsTaskLabels) || metricsTaskLabels > 10_000) {
        throw new EcronError('CONFIG_INVALID', `--metrics-task-labels ${flags.metricsTaskLabels}: expected a whole number from 0 to 10000`);
      }
      const oidc = flags.oidcConfig ? loadOidcConfig(resolve(flags.oidcConfig), process.env) : undefined;
      limitHeapGrowth({ execArgv: process.execArgv, nodeOptions: process.env.NODE_OPTIONS });
      const logger = pino({ level: flags.logLevel, base: { service: 'ecron' } });
      const server = await startServer({
        dataDir: flags.dataDir, port, host: flags.host, storeUrl: flags.store, roles: roles as Role[],
        publicUrl: flags.publicUrl, env: process.env, logger, historyRetentionMs, eventRetentionMs, leases, authFailureLimit,
        outbound: { allow: ruleList(flags.outboundAllow), deny: ruleList(flags.outboundDeny) },
        ...(oidc ? { oidc } : {}), ...(metricsListen ? { metricsListen } : {}), metricsTaskLabels,
        ...(flags.nodeId ? { nodeId: flags.nodeId } : {}),
        containerEngines, containerStopGraceMs,
        // Another console build than packages/console/dist (the console's tests serve their own).
        ...(process.env.ECRON_CONSOLE_DIR ? { consoleDir: resolve(process.env.ECRON_CONSOLE_DIR) } : {}),
      });
      process.stderr.write(`ecron ${VERSION} listening on ${server.url}\n`);
      if (server.metricsUrl) process.stderr.write(`metrics (no authentication) on ${server.metricsUrl}/metrics\n`);
      // The path only, never the token. A later start says it too: the first may have failed (port taken) after writing it.
      if (server.adminTokenPath) process.stderr.write(`admin token written to ${resolve(server.adminTokenPath)} (first start; keep it secret)\n`);
      else if (server.adminTokenFile) process.stderr.write(`admin token in ${resolve(server.adminTokenFile)} (keep it secret)\n`);
      await new Promise<void>((resolve) => {
        let signals = 0;
        const onSignal = (signal: NodeJS.Signals) => {
          signals += 1;
          if (signals > 1) {
            process.stderr.write(`ecron: ${signal} again, exiting without draining\n`);
            process.exit(1);
          }
          process.stderr.write(`ecron: ${signal} received, draining\n`);
          server.stop().then(resolve, (error) => {
            process.stderr.write(`ecron: shutdown failed: ${(error as Error).message}\n`);
            process.exitCode = 1;
            resolve();
          });
        };
        process.on('SIGTERM', onSignal);
        process.on('SIGINT', onSignal);
      });
    });
}

/** A port number flag (0: any free port). */
function portFlag(name: string, value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new EcronError('CONFIG_INVALID', `--${name} ${value}: expected a port number 0-65535`);
  return port;
}

/** A comma-separated environment variable as a list (the default of a repeatable flag). */
function envList(value: string | undefined): string[] {
  return (value ?? '').split(',').map((item) => item.trim()).filter((item) => item !== '');
}

/** A comma-separated list of outbound rules (checked when the server builds its policy). */
function ruleList(value: string | undefined): string[] {
  return (value ?? '').split(',').map((rule) => rule.trim()).filter((rule) => rule !== '');
}
