/**
 * `ecron subscription …`: event subscriptions (`/api/v1/event-subscriptions`): webhooks and
 * brokers that receive the event log, at least once and in order; their dead letters and replay.
 */
import { type Command, Option } from 'commander';
import { CliError, usageError } from '../cli-error.ts';
import { type CliContext, collect, integerOption } from '../command-support.ts';
import { formatInstant, formatKeyValues, formatTable, printJson } from '../output.ts';

const TYPES = ['webhook', 'nats', 'redis', 'rabbitmq', 'mqtt'] as const;

interface Subscription {
  id: string; namespace: string; name: string; type: string; config: Record<string, unknown>;
  filter: { namespaces?: string[]; types?: string[]; taskId?: string }; state: string; cursor: number; lag: number;
  owner: string | null; lastError: string | null; lastErrorAt: string | null; failures: number; createdAt: string;
}
interface DeadLetter { seq: number; event: { type?: string }; error: string; attempts: number; at: string }

interface CreateOptions {
  name: string; namespace?: string; type: string; url?: string; secret?: string; header?: string[]; config?: string;
  eventType?: string[]; task?: string; filterNamespace?: string[]; after?: number; paused?: boolean;
}

const splitList = (values: readonly string[] | undefined): string[] => (values ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
const path = (id: string, rest = '') => `/api/v1/event-subscriptions/${encodeURIComponent(id)}${rest}`;

function configOf(options: CreateOptions): Record<string, unknown> {
  let config: Record<string, unknown> = {};
  if (options.config !== undefined) {
    try {
      config = JSON.parse(options.config) as Record<string, unknown>;
    } catch {
      throw usageError('--config must be a JSON object, e.g. \'{"subject":"ecron.events.{type}"}\'');
    }
    if (config === null || typeof config !== 'object' || Array.isArray(config)) throw usageError('--config must be a JSON object');
  }
  if (options.url !== undefined) config.url = options.url;
  if (options.secret !== undefined) config.secret = options.secret;
  if (options.header !== undefined) {
    const headers: Record<string, string> = { ...(config.headers as Record<string, string> | undefined) };
    for (const header of options.header) {
      const at = header.indexOf('=');
      if (at <= 0) throw usageError(`--header ${header}: expected NAME=VALUE`);
      headers[header.slice(0, at)] = header.slice(at + 1);
    }
    config.headers = headers;
  }
  return config;
}

function details(s: Subscription): string {
  const filter = [
    s.filter.types ? `types ${s.filter.types.join(',')}` : '', s.filter.taskId ? `task ${s.filter.taskId}` : '',
    s.filter.namespaces ? `namespaces ${s.filter.namespaces.join(',')}` : '',
  ].filter(Boolean).join('; ') || '(every event)';
  return formatKeyValues([
    ['id', s.id], ['namespace', s.namespace], ['name', s.name], ['type', s.type], ['state', s.state], ['config', JSON.stringify(s.config)],
    ['filter', filter], ['cursor', String(s.cursor)], ['lag', String(s.lag)], ['delivered by', s.owner ?? '-'], ['failures', String(s.failures)],
    ['last error', s.lastError ? `${s.lastError} (${formatInstant(s.lastErrorAt)})` : '-'], ['created', formatInstant(s.createdAt)],
  ]);
}

export function registerSubscriptionCommands(program: Command, ctx: CliContext): void {
  const subscription = program.command('subscription').description('event subscriptions: webhooks and brokers that receive the event log');

  subscription.command('create')
    .description('create a subscription; a webhook\'s generated secret is shown once')
    .requiredOption('--name <name>', 'unique in the namespace')
    .addOption(new Option('--type <type>', 'where events go').choices([...TYPES]).makeOptionMandatory())
    .option('--namespace <namespace>', 'whose events it receives; * for every namespace and the cluster events (server default: default)')
    .option('--url <url>', 'the webhook\'s or broker\'s URL (config.url)')
    .option('--secret <secret>', 'webhook: the signing secret, at least 16 characters (default: generated)')
    .option('--header <name=value>', 'webhook: a header sent with each request (repeatable)', collect)
    .option('--config <json>', 'the rest of the config as JSON, e.g. {"subject":"ecron.{type}"} (nats), {"stream":"ecron"} (redis)')
    .option('--event-type <types>', 'only these event types, comma-separated: run.failed, or prefixes such as run.* (repeatable)', collect)
    .option('--task <id>', 'only the events of this task or workflow')
    .option('--filter-namespace <names>', 'with --namespace "*": only these namespaces, comma-separated (repeatable)', collect)
    .option('--after <seq>', 'deliver the events after this seq (default: new events only)', integerOption('--after', 0))
    .option('--paused', 'create it paused')
    .action(async (options: CreateOptions, command: Command) => {
      const session = ctx.open(command);
      const filter: Record<string, unknown> = {};
      if (options.eventType) filter.types = splitList(options.eventType);
      if (options.task !== undefined) filter.taskId = options.task;
      if (options.filterNamespace) filter.namespaces = splitList(options.filterNamespace);
      const body: Record<string, unknown> = { name: options.name, type: options.type, config: configOf(options), filter };
      if (options.namespace !== undefined) body.namespace = options.namespace;
      if (options.after !== undefined) body.after = options.after;
      if (options.paused) body.state = 'paused';
      const created = await session.api.request<{ subscription: Subscription; secret?: string }>({ method: 'POST', path: '/api/v1/event-subscriptions', body });
      if (session.json) return printJson(ctx.io, created);
      const s = created.subscription;
      ctx.io.stdout(`created subscription ${s.namespace}/${s.name} (${s.id}), ${s.type}, ${s.state}, after seq ${s.cursor}\n`);
      if (created.secret) {
        ctx.io.stdout(`secret: ${created.secret}\n`);
        ctx.io.stderr('store the secret now: it cannot be shown again (receivers verify x-ecron-signature with it)\n');
      }
    });

  subscription.command('list')
    .description('list subscriptions: state, cursor, lag and last error')
    .action(async (_options: unknown, command: Command) => {
      const session = ctx.open(command);
      const list = await session.api.request<{ items: Subscription[] }>({ path: '/api/v1/event-subscriptions' });
      if (session.json) return printJson(ctx.io, list);
      ctx.io.stdout(list.items.length === 0 ? '(no subscriptions)\n' : formatTable(
        ['ID', 'NAMESPACE', 'NAME', 'TYPE', 'STATE', 'CURSOR', 'LAG', 'FAILURES', 'LAST ERROR'],
        list.items.map((s) => [s.id, s.namespace, s.name, s.type, s.state, String(s.cursor), String(s.lag), String(s.failures), s.lastError ?? '-']),
      ));
    });

  subscription.command('get')
    .description('show a subscription')
    .argument('<id>', 'subscription id')
    .action(async (id: string, _options: unknown, command: Command) => {
      const session = ctx.open(command);
      const s = await session.api.request<Subscription>({ path: path(id) });
      if (session.json) return printJson(ctx.io, s);
      ctx.io.stdout(details(s));
    });

  subscription.command('delete')
    .description('delete a subscription and its dead letters')
    .argument('<id>', 'subscription id')
    .action(async (id: string, _options: unknown, command: Command) => {
      const session = ctx.open(command);
      await session.api.request({ method: 'DELETE', path: path(id) });
      if (session.json) return printJson(ctx.io, { id, deleted: true });
      ctx.io.stdout(`deleted subscription ${id}\n`);
    });

  for (const verb of ['pause', 'resume'] as const) {
    subscription.command(verb)
      .description(verb === 'pause' ? 'stop delivering (the cursor stays)' : 'deliver again, from the cursor')
      .argument('<id>', 'subscription id')
      .action(async (id: string, _options: unknown, command: Command) => {
        const session = ctx.open(command);
        const s = await session.api.request<Subscription>({ method: 'POST', path: path(id, `/${verb}`) });
        if (session.json) return printJson(ctx.io, s);
        ctx.io.stdout(`subscription ${s.namespace}/${s.name} is ${s.state} (cursor ${s.cursor}, lag ${s.lag})\n`);
      });
  }

  subscription.command('dead-letters')
    .description('list the events a subscription gave up on')
    .argument('<id>', 'subscription id')
    .option('--after <seq>', 'only those with a greater seq', integerOption('--after', 0))
    .option('--limit <n>', 'at most this many (default 100)', integerOption('--limit', 1, 1000))
    .action(async (id: string, options: { after?: number; limit?: number }, command: Command) => {
      const session = ctx.open(command);
      const list = await session.api.request<{ items: DeadLetter[] }>({ path: path(id, '/dead-letters'), query: { after: options.after, limit: options.limit } });
      if (session.json) return printJson(ctx.io, list);
      ctx.io.stdout(list.items.length === 0 ? '(no dead letters)\n' : formatTable(
        ['SEQ', 'TYPE', 'ATTEMPTS', 'AT', 'ERROR'],
        list.items.map((l) => [String(l.seq), l.event.type ?? '-', String(l.attempts), formatInstant(l.at), l.error]),
      ));
    });

  subscription.command('replay')
    .description('deliver the dead letters again, oldest first, and remove those delivered')
    .argument('<id>', 'subscription id')
    .option('--limit <n>', 'at most this many (default 1000)', integerOption('--limit', 1, 10_000))
    .action(async (id: string, options: { limit?: number }, command: Command) => {
      const session = ctx.open(command);
      const result = await session.api.request<{ replayed: number; remaining: number; error: string | null }>({
        method: 'POST', path: path(id, '/dead-letters/replay'), body: options.limit === undefined ? {} : { limit: options.limit },
      });
      if (result.error !== null) {
        throw new CliError('REPLAY_INCOMPLETE', `replayed ${result.replayed} dead letter(s), ${result.remaining} left: the replay stopped: ${result.error}`, { details: result });
      }
      if (session.json) return printJson(ctx.io, result);
      ctx.io.stdout(`replayed ${result.replayed} dead letter(s); ${result.remaining} left\n`);
    });
}
