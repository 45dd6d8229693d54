import { type Command, Option } from 'commander';
import type { TokenResource } from '@ecron/contracts';
import { type CliContext, collect } from '../command-support.ts';
import { formatInstant, printJson } from '../output.ts';
import { tokenTable } from '../resource-views.ts';
import { TOKEN_ROLES } from '../vocabulary.ts';

interface TokenCreateOptions {
  name: string;
  role?: string;
  namespace?: string[];
  namespaces?: string[];
  groups?: string[];
  expiresIn?: string;
  expiresAt?: string;
}

/** The names of comma-separated lists (`--groups g1,g2 --groups g3`), blanks left out; the server checks them. */
const splitList = (values: readonly string[] | undefined): string[] => (values ?? []).flatMap((value) => value.split(',')).map((v) => v.trim()).filter((v) => v !== '');

export function registerTokenCommands(program: Command, ctx: CliContext): void {
  const token = program.command('token').description('create, list and revoke API tokens');

  token.command('create')
    .description('create an API token; its secret is shown once')
    .requiredOption('--name <name>', 'what the token is for')
    .addOption(new Option('--role <role>', 'what the token may do: viewer reads; operator also triggers, cancels, pauses, resumes and reruns; '
      + 'editor also creates, changes and deletes; admin also manages tokens and namespaces; executor only runs an executor node; metrics only reads GET /metrics '
      + '(server default: viewer)').choices([...TOKEN_ROLES]))
    .option('--namespace <namespace>', 'a namespace the token may use (repeatable; server default: all)', collect)
    .option('--namespaces <list>', 'namespaces the token may use, comma-separated (as --namespace)', collect)
    .option('--groups <list>', 'role executor only: the executor groups, comma-separated, whose nodes the token may register and act for '
      + 'in each of its namespaces (repeatable; default: every group)', collect)
    .option('--expires-in <duration>', 'the token stops working this long after now, e.g. 30d or 12h (at most 3653d; default: never)')
    .option('--expires-at <instant>', 'the token stops working at this ISO-8601 instant, e.g. 2027-01-01T00:00:00Z (default: never)')
    .action(async (options: TokenCreateOptions, command: Command) => {
      const session = ctx.open(command);
      const body: Record<string, unknown> = { name: options.name };
      if (options.role !== undefined) body.role = options.role;
      if (options.namespace !== undefined || options.namespaces !== undefined) body.namespaces = [...options.namespace ?? [], ...splitList(options.namespaces)];
      if (options.groups !== undefined) body.groups = splitList(options.groups);
      if (options.expiresIn !== undefined) body.expiresIn = options.expiresIn;
      if (options.expiresAt !== undefined) body.expiresAt = options.expiresAt;
      const created = await session.api.request<{ token: TokenResource; secret: string }>({ method: 'POST', path: '/api/v1/tokens', body });
      if (session.json) return printJson(ctx.io, created);
      const t = created.token;
      const expiry = t.expiresAt ? `, expires ${formatInstant(t.expiresAt)}` : '';
      const groups = t.groups ? `, groups ${t.groups.join(',')}` : '';
      ctx.io.stdout(`created token ${t.name} (${t.id}), role ${t.role}, namespaces ${(t.namespaces ?? []).join(',')}${groups}${expiry}\nsecret: ${created.secret}\n`);
      ctx.io.stderr('store the secret now: it cannot be shown again\n');
    });

  token.command('list')
    .description('list API tokens, revoked and expired ones too')
    .action(async (_options: unknown, command: Command) => {
      const session = ctx.open(command);
      const list = await session.api.request<{ items: TokenResource[] }>({ path: '/api/v1/tokens' });
      if (session.json) return printJson(ctx.io, list);
      ctx.io.stdout(list.items.length === 0 ? '(no tokens)\n' : tokenTable(list.items));
    });

  token.command('revoke')
    .description('revoke an API token')
    .argument('<id>', 'token id')
    .action(async (id: string, _options: unknown, command: Command) => {
      const session = ctx.open(command);
      const result = await session.api.request<TokenResource | undefined>({ method: 'DELETE', path: `/api/v1/tokens/${encodeURIComponent(id)}` });
      if (session.json) return printJson(ctx.io, result ?? { id, revoked: true });
      ctx.io.stdout(result?.name ? `revoked token ${result.name} (${id})\n` : `revoked token ${id}\n`);
    });
}
