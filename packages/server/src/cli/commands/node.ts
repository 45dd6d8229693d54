import type { Command } from 'commander';
import type { NodeList } from '@ecron/contracts';
import type { CliContext } from '../command-support.ts';
import { printJson } from '../output.ts';
import { nodeTable } from '../resource-views.ts';

export function registerNodeCommands(program: Command, ctx: CliContext): void {
  const node = program.command('node').description('the scheduler nodes of the cluster');

  node.command('list')
    .description('list scheduler nodes: their buckets, lease expiry and last heartbeat')
    .action(async (_options: unknown, command: Command) => {
      const session = ctx.open(command);
      const list = await session.api.request<NodeList>({ path: '/api/v1/nodes' });
      if (session.json) return printJson(ctx.io, list);
      ctx.io.stdout(list.items.length === 0 ? '(no nodes)\n' : nodeTable(list));
    });
}
