/**
 * `ecron incident …`: what the alert rules found (`/api/v1/incidents`): list, show with the
 * delivery of its notifications, acknowledge (stops the repeats) and resolve by hand.
 */
import type { Command } from 'commander';
import { type CliContext, integerOption } from '../command-support.ts';
import { formatInstant, formatKeyValues, formatTable, printJson } from '../output.ts';

interface Incident {
  id: string; ruleId: string; ruleName: string; on: string; namespace: string; subject: { kind: string; id: string; name: string };
  state: string; severity: string; summary: string; details: Record<string, unknown>; openedAt: string;
  acknowledgedAt: string | null; acknowledgedBy: string | null; resolvedAt: string | null; resolvedBy: string | null; lastNotifiedAt: string | null;
}
interface Notification { id: string; channelId: string; kind: string; state: string; attempts: number; lastError: string | null; sentAt: string | null }

const path = (id: string, rest = '') => `/api/v1/incidents/${encodeURIComponent(id)}${rest}`;

function details(i: Incident, notifications: Notification[]): string {
  const head = formatKeyValues([
    ['id', i.id], ['state', i.state], ['severity', i.severity], ['rule', `${i.ruleName} (${i.on}, ${i.ruleId})`], ['namespace', i.namespace],
    ['subject', `${i.subject.kind} ${i.subject.name} (${i.subject.id})`], ['summary', i.summary], ['details', JSON.stringify(i.details)],
    ['opened', formatInstant(i.openedAt)],
    ['acknowledged', i.acknowledgedAt ? `${formatInstant(i.acknowledgedAt)} by ${i.acknowledgedBy ?? '?'}` : '-'],
    ['resolved', i.resolvedAt ? `${formatInstant(i.resolvedAt)} by ${i.resolvedBy ?? '?'}` : '-'],
  ]);
  const sent = notifications.length === 0 ? '(no notifications)\n' : formatTable(
    ['NOTIFICATION', 'KIND', 'CHANNEL', 'STATE', 'ATTEMPTS', 'SENT', 'LAST ERROR'],
    notifications.map((n) => [n.id, n.kind, n.channelId, n.state, String(n.attempts), n.sentAt ? formatInstant(n.sentAt) : '-', n.lastError ?? '-']),
  );
  return `${head}\n${sent}`;
}

export function registerIncidentCommands(program: Command, ctx: CliContext): void {
  const incident = program.command('incident').description('incidents the alert rules opened: list, show, acknowledge, resolve');

  incident.command('list')
    .description('list incidents, newest first')
    .option('--namespace <namespace>', 'only this namespace')
    .option('--state <states>', 'comma-separated: open, acknowledged, resolved')
    .option('--rule <id>', 'only the incidents of this rule')
    .option('--limit <n>', 'at most this many (1-1000)', integerOption('--limit', 1, 1000), 100)
    .action(async (options: { namespace?: string; state?: string; rule?: string; limit: number }, command: Command) => {
      const session = ctx.open(command);
      const list = await session.api.request<{ items: Incident[]; nextCursor: string | null }>({
        path: '/api/v1/incidents', query: { namespace: options.namespace, state: options.state, ruleId: options.rule, limit: options.limit },
      });
      if (session.json) return printJson(ctx.io, list);
      ctx.io.stdout(list.items.length === 0 ? '(no incidents)\n' : formatTable(
        ['ID', 'STATE', 'SEVERITY', 'RULE', 'SUBJECT', 'OPENED', 'SUMMARY'],
        list.items.map((i) => [i.id, i.state, i.severity, i.ruleName, `${i.subject.kind} ${i.subject.name}`, formatInstant(i.openedAt), i.summary]),
      ));
    });

  incident.command('get')
    .description('show an incident and the delivery of its notifications')
    .argument('<id>', 'incident id')
    .action(async (id: string, _options: unknown, command: Command) => {
      const session = ctx.open(command);
      const got = await session.api.request<{ incident: Incident; notifications: Notification[] }>({ path: path(id) });
      if (session.json) return printJson(ctx.io, got);
      ctx.io.stdout(details(got.incident, got.notifications));
    });

  for (const [verb, action, past] of [['ack', 'acknowledge', 'acknowledged'], ['resolve', 'resolve', 'resolved']] as const) {
    incident.command(verb)
      .description(verb === 'ack' ? 'acknowledge an open incident: its repeats stop' : 'resolve an incident by hand (a resolved notification is sent)')
      .argument('<id>', 'incident id')
      .action(async (id: string, _options: unknown, command: Command) => {
        const session = ctx.open(command);
        const i = await session.api.request<Incident>({ method: 'POST', path: path(id, `/${action}`) });
        if (session.json) return printJson(ctx.io, i);
        ctx.io.stdout(`incident ${i.id} ${past} (${i.ruleName}: ${i.subject.kind} ${i.subject.name})\n`);
      });
  }
}
