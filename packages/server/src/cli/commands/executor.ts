import type { Command } from 'commander';
import type { ExecutorList } from '@ecron/contracts';
import type { CliContext } from '../command-support.ts';
import { printJson } from '../output.ts';
import { executorTable } from '../resource-views.ts';
import { registerExecutorGroupCommands } from './executor-group.ts';

export function registerExecutorCommands(program: Command, ctx: CliContext): void {
  const executor = program.command('executor').description('the executor nodes of executor groups');

  executor.command('list')
    .description('list executor nodes, live ones first: group, mode, address, labels, load and last heartbeat')
    .option('--group <group>', 'only the nodes of this executor group')
    .action(async (options: { group?: string }, command: Command) => {
      const session = ctx.open(command);
      const list = await session.api.request<ExecutorList>({ path: '/api/v1/executors', query: { group: options.group } });
      if (session.json) return printJson(ctx.io, list);
      ctx.io.stdout(list.items.length === 0 ? `(no executor nodes${options.group === undefined ? '' : ` in group ${options.group}`})\n` : executorTable(list, Date.now()));
    });

  registerExecutorGroupCommands(executor, ctx);
}
