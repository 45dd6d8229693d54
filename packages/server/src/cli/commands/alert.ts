/**
 * `ecron alert …`: alert channels (`alert channel`, `/api/v1/alert-channels`), alert rules
 * (`alert rule`, `/api/v1/alert-rules`) and silences (`alert silence`, `/api/v1/alert-silences`).
 */
import type { Command } from 'commander';
import type { CliContext } from '../command-support.ts';
import { registerAlertChannelCommands } from './alert-channel.ts';
import { registerAlertRuleCommands } from './alert-rule.ts';
import { registerAlertSilenceCommands } from './alert-silence.ts';

export function registerAlertCommands(program: Command, ctx: CliContext): void {
  const alert = program.command('alert').description('alerting: channels (where notifications go), rules (what opens incidents) and silences (maintenance windows)');
  registerAlertChannelCommands(alert, ctx);
  registerAlertRuleCommands(alert, ctx);
  registerAlertSilenceCommands(alert, ctx);
}
