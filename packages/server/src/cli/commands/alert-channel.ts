/**
 * `ecron alert channel create|list|get|update|delete|test`: where alert notifications go
 * (`/api/v1/alert-channels`). A create or an update takes the channel from `-f FILE` (JSON or YAML,
 * as `get --json` prints it or as the API takes it) and/or flags, flags last. An update starts from
 * the channel as read, whose masked secrets the server keeps, so `update ID --url …` changes the URL only.
 */
import { type Command, Option } from 'commander';
import { ALERT_CHANNEL_TYPES, ALERT_LOCALES, type Page } from '@ecron/contracts';
import { usageError } from '../cli-error.ts';
import { type CliContext, collect, integerOption, listPages, moreHint } from '../command-support.ts';
import { formatInstant, formatKeyValues, formatTable, printJson } from '../output.ts';
import { REF_HELP, alertPath, jsonObjectOption, keyValues, resolveAlertRef, specFromFile, splitList } from './alert-support.ts';

interface Channel {
  id: string; namespace: string; name: string; type: string; locale: string; description: string | null; config: Record<string, unknown>;
  lastError: string | null; lastErrorAt: string | null; lastSentAt: string | null; createdAt: string; updatedAt: string;
}
interface WriteAnswer { channel: Channel; secret?: string }

interface SpecOptions {
  file?: string; name?: string; namespace?: string; type?: string; locale?: string; description?: string; config?: string;
  url?: string; secret?: string; header?: string[]; host?: string; port?: number; from?: string; to?: string[]; user?: string; password?: string;
  timeoutMs?: number;
}

const COLLECTION = 'alert-channels';
const NOT_FOUND = 'ALERT_CHANNEL_NOT_FOUND';
const READ_ONLY = ['id', 'lastError', 'lastErrorAt', 'lastSentAt', 'createdAt', 'updatedAt'];

/** The config of `base` with the flags' fields set over it. */
function configOf(base: Record<string, unknown>, o: SpecOptions): Record<string, unknown> {
  const config = { ...base, ...jsonObjectOption('--config', o.config) };
  const set = (key: string, value: unknown) => { if (value !== undefined) config[key] = value; };
  set('url', o.url);
  set('secret', o.secret);
  set('host', o.host);
  set('port', o.port);
  set('from', o.from);
  set('to', o.to === undefined ? undefined : splitList(o.to));
  set('user', o.user);
  set('password', o.password);
  set('timeoutMs', o.timeoutMs);
  const headers = keyValues('--header', o.header, false);
  if (headers) config.headers = { ...(config.headers as Record<string, string> | undefined), ...headers };
  return config;
}

/** The channel to send: `base` (a file, or the channel as read), with the flags over it. */
function specOf(base: Record<string, unknown>, o: SpecOptions): Record<string, unknown> {
  const spec: Record<string, unknown> = { ...base };
  for (const key of ['name', 'namespace', 'locale', 'description'] as const) if (o[key] !== undefined) spec[key] = o[key];
  let config = (base.config as Record<string, unknown> | undefined) ?? {};
  if (o.type !== undefined && o.type !== base.type) {
    spec.type = o.type;
    config = {}; // another type keeps nothing of the old config
  }
  spec.config = configOf(config, o);
  return spec;
}

function addSpecOptions(command: Command): Command {
  return command
    .option('-f, --file <file>', 'the channel as JSON or YAML (as the API takes it, or as get --json prints it); - reads standard input')
    .option('--name <name>', 'unique in the namespace')
    .option('--namespace <namespace>', 'its namespace (server default: default)')
    .addOption(new Option('--type <type>', 'where notifications go').choices([...ALERT_CHANNEL_TYPES]))
    .addOption(new Option('--locale <locale>', 'the language of its messages').choices([...ALERT_LOCALES]))
    .option('--description <text>', 'what it is for')
    .option('--url <url>', 'webhook, slack, feishu, dingtalk, wecom: the URL (config.url)')
    .option('--secret <secret>', 'webhook: the signing secret (default: generated); feishu, dingtalk: the robot\'s signing secret')
    .option('--header <name=value>', 'webhook: a header sent with each request (repeatable)', collect)
    .option('--host <host>', 'email: the SMTP server')
    .option('--port <port>', 'email: its port (default 587, or 465 with secure)', integerOption('--port', 1, 65_535))
    .option('--from <address>', 'email: the sender, an address or "Name <address>"')
    .option('--to <addresses>', 'email: recipients, comma-separated (repeatable)', collect)
    .option('--user <user>', 'email: the SMTP login')
    .option('--password <password>', 'email: the SMTP password')
    .option('--timeout-ms <ms>', 'how long one send may take (100 to 120000; default 10000)', integerOption('--timeout-ms', 100, 120_000))
    .option('--config <json>', 'more of the config as a JSON object, e.g. {"secure":true} (flags override it)');
}

function details(c: Channel): string {
  return formatKeyValues([
    ['id', c.id], ['namespace', c.namespace], ['name', c.name], ['type', c.type], ['locale', c.locale], ['description', c.description ?? '-'],
    ['config', JSON.stringify(c.config)], ['last sent', formatInstant(c.lastSentAt)],
    ['last error', c.lastError ? `${c.lastError} (${formatInstant(c.lastErrorAt)})` : '-'], ['created', formatInstant(c.createdAt)], ['updated', formatInstant(c.updatedAt)],
  ]);
}

function showSecret(ctx: CliContext, secret: string | undefined): void {
  if (!secret) return;
  ctx.io.stdout(`secret: ${secret}\n`);
  ctx.io.stderr('store the secret now: it cannot be shown again (receivers verify x-ecron-signature with it)\n');
}

export function registerAlertChannelCommands(alert: Command, ctx: CliContext): void {
  const channel = alert.command('channel').description('alert channels: webhook, email, slack, feishu, dingtalk, wecom');

  addSpecOptions(channel.command('create').description('create a channel; a webhook\'s generated secret is shown once'))
    .action(async (options: SpecOptions, command: Command) => {
      const spec = specOf((await specFromFile(ctx, options.file, 'alert channel', READ_ONLY)) ?? {}, options);
      if (spec.name === undefined || spec.type === undefined) throw usageError('give the channel\'s --name and --type (or a file with them)');
      const session = ctx.open(command);
      const created = await session.api.request<WriteAnswer>({ method: 'POST', path: '/api/v1/alert-channels', body: spec });
      if (session.json) return printJson(ctx.io, created);
      const c = created.channel;
      ctx.io.stdout(`created alert channel ${c.namespace}/${c.name} (${c.id}), ${c.type}\n`);
      showSecret(ctx, created.secret);
    });

  channel.command('list')
    .description('list channels: type, last send and last error')
    .option('--namespace <namespace>', 'only this namespace')
    .option('--limit <n>', 'channels per page', integerOption('--limit', 1, 1000))
    .option('--all', 'fetch every page')
    .action(async (options: { namespace?: string; limit?: number; all?: boolean }, command: Command) => {
      const session = ctx.open(command);
      const page: Page<Channel> = await listPages<Channel>(session.api, '/api/v1/alert-channels', { namespace: options.namespace }, options);
      if (session.json) return printJson(ctx.io, page);
      ctx.io.stdout(page.items.length === 0 ? '(no alert channels)\n' : formatTable(
        ['ID', 'NAMESPACE', 'NAME', 'TYPE', 'LOCALE', 'LAST SENT', 'LAST ERROR'],
        page.items.map((c) => [c.id, c.namespace, c.name, c.type, c.locale, formatInstant(c.lastSentAt), c.lastError ?? '-']),
      ));
      moreHint(session, page, 'alert channels');
    });

  channel.command('get')
    .description('show a channel (secrets masked)')
    .argument('<ref>', REF_HELP)
    .action(async (ref: string, _options: unknown, command: Command) => {
      const session = ctx.open(command);
      const c = await resolveAlertRef<Channel>(session.api, COLLECTION, ref, NOT_FOUND);
      if (session.json) return printJson(ctx.io, c);
      ctx.io.stdout(details(c));
    });

  addSpecOptions(channel.command('update').description('change a channel: -f replaces it, flags change the fields they name').argument('<ref>', REF_HELP))
    .action(async (ref: string, options: SpecOptions, command: Command) => {
      const fromFile = await specFromFile(ctx, options.file, 'alert channel', READ_ONLY);
      const session = ctx.open(command);
      const current = await resolveAlertRef<Channel>(session.api, COLLECTION, ref, NOT_FOUND);
      const base = fromFile ?? Object.fromEntries(Object.entries(current).filter(([key, value]) => !READ_ONLY.includes(key) && value !== null));
      const updated = await session.api.request<WriteAnswer>({ method: 'PUT', path: alertPath(COLLECTION, current.id), body: specOf(base, options) });
      if (session.json) return printJson(ctx.io, updated);
      ctx.io.stdout(`updated alert channel ${updated.channel.namespace}/${updated.channel.name} (${updated.channel.id})\n`);
      showSecret(ctx, updated.secret);
    });

  channel.command('delete')
    .description('delete a channel (refused while a rule sends through it)')
    .argument('<ref>', REF_HELP)
    .action(async (ref: string, _options: unknown, command: Command) => {
      const session = ctx.open(command);
      const c = await resolveAlertRef<Channel>(session.api, COLLECTION, ref, NOT_FOUND);
      await session.api.request({ method: 'DELETE', path: alertPath(COLLECTION, c.id) });
      if (session.json) return printJson(ctx.io, { id: c.id, deleted: true });
      ctx.io.stdout(`deleted alert channel ${c.namespace}/${c.name} (${c.id})\n`);
    });

  channel.command('test')
    .description('send a test notification now, once; fails with ALERT_CHANNEL_FAILED when the receiver does not accept it')
    .argument('<ref>', REF_HELP)
    .action(async (ref: string, _options: unknown, command: Command) => {
      const session = ctx.open(command);
      const c = await resolveAlertRef<Channel>(session.api, COLLECTION, ref, NOT_FOUND);
      const result = await session.api.request<{ ok: true }>({ method: 'POST', path: alertPath(COLLECTION, c.id, '/test') });
      if (session.json) return printJson(ctx.io, { id: c.id, ...result });
      ctx.io.stdout(`sent a test notification through alert channel ${c.namespace}/${c.name}: accepted\n`);
    });
}
