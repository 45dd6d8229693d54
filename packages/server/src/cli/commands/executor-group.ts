/**
 * `ecron executor group set|get|list|delete`: executor group discovery (`/api/v1/executor-groups`).
 * A group's nodes may also be a static list of base URLs (`--static URL[,URL…]`) or the addresses
 * of a DNS name (`--dns NAME --port P`, or `--srv`), besides the nodes that register themselves.
 * `set` prints the group's signing secret, which the executors at those addresses verify with.
 */
import { type Command, Option } from 'commander';
import type { ExecutorGroupList, ExecutorGroupResource, ExecutorGroupWrite } from '@ecron/contracts';
import { usageError } from '../cli-error.ts';
import { type CliContext, collect, integerOption } from '../command-support.ts';
import { formatInstant, formatKeyValues, formatTable, printJson } from '../output.ts';
import { keyValues, splitList } from './alert-support.ts';

const REF_HELP = 'NAMESPACE/GROUP, or GROUP of namespace default';

interface SetOptions {
  static?: string[]; dns?: string; port?: number; scheme?: string; path?: string; srv?: boolean; refresh?: string; stale?: string;
  label?: string[]; weight?: number;
}

/** `ns/group` or `group` (namespace default). */
function parseRef(ref: string): { namespace: string; group: string } {
  const trimmed = ref.trim();
  const slash = trimmed.indexOf('/');
  const [namespace, group] = slash < 0 ? ['default', trimmed] : [trimmed.slice(0, slash), trimmed.slice(slash + 1)];
  if (!namespace || !group || group.includes('/')) throw usageError(`"${ref}" is not a group: use NAMESPACE/GROUP or GROUP`);
  return { namespace, group };
}

const pathOf = (ref: { namespace: string; group: string }): string => `/api/v1/executor-groups/${encodeURIComponent(ref.namespace)}/${encodeURIComponent(ref.group)}`;

/** The body of a PUT from the flags: exactly one of --static and --dns. */
function specOf(o: SetOptions): Record<string, unknown> {
  const addresses = splitList(o.static);
  if ((addresses.length > 0) === (o.dns !== undefined)) throw usageError('give either --static URL[,URL…] or --dns NAME (with --port, or --srv)');
  const dnsOnly = ['port', 'scheme', 'path', 'srv', 'refresh', 'stale'] as const;
  if (o.dns === undefined && dnsOnly.some((key) => o[key] !== undefined)) throw usageError('--port, --scheme, --path, --srv, --refresh and --stale go with --dns');
  const refreshMs = o.refresh === undefined ? undefined : durationOf(o.refresh);
  const staleMs = o.stale === undefined ? undefined : durationOf(o.stale);
  const discovery = o.dns === undefined ? { static: addresses } : {
    dns: {
      name: o.dns,
      ...(o.port === undefined ? {} : { port: o.port }),
      ...(o.scheme === undefined ? {} : { scheme: o.scheme }),
      ...(o.path === undefined ? {} : { path: o.path }),
      ...(o.srv ? { srv: true } : {}),
      ...(refreshMs === undefined ? {} : { refreshMs }),
      ...(staleMs === undefined ? {} : { staleMs }),
    },
  };
  const labels = keyValues('--label', o.label, true);
  return { discovery, ...(labels ? { labels } : {}), ...(o.weight === undefined ? {} : { weight: o.weight }) };
}

/** A duration flag as the API takes it: a number of milliseconds, or "30s". */
const durationOf = (text: string): number | string => (/^\d+$/.test(text) ? Number(text) : text);

function describeDiscovery(g: ExecutorGroupResource): string {
  if ('static' in g.discovery) return `static (${g.discovery.static.length})`;
  const { dns } = g.discovery;
  return `dns ${dns.srv ? 'SRV ' : ''}${dns.name}${dns.port === undefined ? '' : `:${dns.port}`}`;
}

function details(g: ExecutorGroupResource): string {
  const discovery = 'static' in g.discovery
    ? [['static', g.discovery.static.join(', ')] as const]
    : [['dns', `${g.discovery.dns.srv ? 'SRV ' : ''}${g.discovery.dns.name}`] as const,
      ['port', g.discovery.dns.port === undefined ? '(from SRV)' : String(g.discovery.dns.port)] as const,
      ['scheme', g.discovery.dns.scheme] as const, ['path', g.discovery.dns.path] as const,
      ['refresh', `${g.discovery.dns.refreshMs} ms`] as const, ['stale after', `${g.discovery.dns.staleMs} ms`] as const];
  const status = g.status;
  return formatKeyValues([
    ['group', `${g.namespace}/${g.group}`], ...discovery,
    ['labels', Object.entries(g.labels).map(([k, v]) => `${k}=${v}`).join(',') || '-'], ['weight', String(g.weight)],
    ['nodes', status === null ? '(not resolved yet)' : status.nodes.map((n) => n.address).join(', ') || '(none)'],
    ['resolved', formatInstant(status?.resolvedAt ?? null)],
    ['error', status?.error ? `${status.error}${status.stale ? ' (using the last good answer)' : ''}` : '-'],
    ['created', formatInstant(g.createdAt)], ['updated', formatInstant(g.updatedAt)],
  ]);
}

export function registerExecutorGroupCommands(executor: Command, ctx: CliContext): void {
  const group = executor.command('group').description('executor group discovery: static address lists and DNS names');

  group.command('set')
    .description('set how a group\'s nodes are found (replacing what was set); prints the group\'s signing secret')
    .argument('<ref>', REF_HELP)
    .option('--static <urls>', 'base URLs of executors, comma-separated (repeatable)', collect)
    .option('--dns <name>', 'a DNS name: each A/AAAA record is a node')
    .option('--port <port>', 'with --dns: the executors\' port (not with --srv)', integerOption('--port', 1, 65_535))
    .addOption(new Option('--scheme <scheme>', 'with --dns: http or https (default http)').choices(['http', 'https']))
    .option('--path <path>', 'with --dns: the path requests go to (default /)')
    .option('--srv', 'with --dns: read SRV records of the name (they give hosts and ports)')
    .option('--refresh <duration>', 'with --dns: resolve again this often (ms or "30s"; default 30s)')
    .option('--stale <duration>', 'with --dns: keep the last good answer this long while resolving fails (default 5m)')
    .option('-l, --label <key=value>', 'a label of every discovered node (repeatable, or comma-separated)', collect)
    .option('--weight <n>', 'weight of every discovered node, 1 to 1000', integerOption('--weight', 1, 1000))
    .action(async (ref: string, options: SetOptions, command: Command) => {
      const target = parseRef(ref);
      const body = specOf(options);
      const session = ctx.open(command);
      const written = await session.api.request<ExecutorGroupWrite>({ method: 'PUT', path: pathOf(target), body });
      if (session.json) return printJson(ctx.io, written);
      ctx.io.stdout(`set executor group ${target.namespace}/${target.group}: ${describeDiscovery(written.group)}\n`);
      ctx.io.stdout(`secret: ${written.secret}\n`);
      ctx.io.stderr('the executors at these addresses verify x-ecron-signature with this secret (SDK: new Executor({ register: false, secret, … }))\n');
    });

  group.command('get')
    .description('show a group\'s discovery and the nodes it resolved to')
    .argument('<ref>', REF_HELP)
    .action(async (ref: string, _options: unknown, command: Command) => {
      const session = ctx.open(command);
      const g = await session.api.request<ExecutorGroupResource>({ path: pathOf(parseRef(ref)) });
      if (session.json) return printJson(ctx.io, g);
      ctx.io.stdout(details(g));
    });

  group.command('list')
    .description('list the groups that have a discovery: how, the nodes found, the last error')
    .option('--namespace <namespace>', 'only this namespace')
    .action(async (options: { namespace?: string }, command: Command) => {
      const session = ctx.open(command);
      const list = await session.api.request<ExecutorGroupList>({ path: '/api/v1/executor-groups', query: { namespace: options.namespace } });
      if (session.json) return printJson(ctx.io, list);
      ctx.io.stdout(list.items.length === 0 ? '(no executor group has a discovery)\n' : formatTable(
        ['NAMESPACE', 'GROUP', 'DISCOVERY', 'NODES', 'RESOLVED', 'ERROR'],
        list.items.map((g) => [g.namespace, g.group, describeDiscovery(g), g.status === null ? '-' : String(g.status.nodes.length),
          formatInstant(g.status?.resolvedAt ?? null), g.status?.error ?? '-']),
      ));
    });

  group.command('delete')
    .description('delete a group\'s discovery: its discovered nodes leave routing (registered nodes stay)')
    .argument('<ref>', REF_HELP)
    .action(async (ref: string, _options: unknown, command: Command) => {
      const target = parseRef(ref);
      const session = ctx.open(command);
      await session.api.request({ method: 'DELETE', path: pathOf(target) });
      if (session.json) return printJson(ctx.io, { ...target, deleted: true });
      ctx.io.stdout(`deleted the discovery of executor group ${target.namespace}/${target.group}\n`);
    });
}
