/**
 * `ecron alert …`: alert channels (`alert channel`, `/api/v1/alert-channels`) and alert rules
 * (`alert rule`, `/api/v1/alert-rules`).
 */
import type { Command } from 'commander';
import type { CliContext } from '../command-support.ts';
import { registerAlertChannelCommands } from './alert-channel.ts';
import { registerAlertRuleCommands } from './alert-rule.ts';

export function registerAlertCommands(program: Command, ctx: CliContext): void {
  const alert = program.command('alert').description('alerting: channels (where notifications go) and rules (what opens incidents)');
  registerAlertChannelCommands(alert, ctx);
  registerAlertRuleCommands(alert, ctx);
}
