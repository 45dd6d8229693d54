/**
 * The command of one crontab line, made into the command of a `shell` target that `ecron agent`
 * can run, and the name of its task.
 *
 * cron hands every command to `$SHELL -c` after cutting it at the first unescaped `%` (the rest
 * becomes standard input, each further `%` a newline) and turning `\%` into `%`. The agent runs a
 * command as argv, without a shell, and only when its allowlist holds it (agent/allowlist.ts). So:
 * `\%` becomes `%`; a command with an unescaped `%` is refused (the agent gives no standard input);
 * a command that needs a shell (pipes, redirections, `$VAR`, globs, `~`…) is wrapped as
 * `SHELL -c '…'`; and the allowlist entry is the command itself, checked here with the agent's
 * own parser so that the printed entry is known to allow it.
 */
import { Allowlist, parseCommand } from '../../agent/allowlist.ts';

/** The shell cron uses when the crontab sets no SHELL. */
export const DEFAULT_CRON_SHELL = '/bin/sh';

export type AgentCommand =
  | { ok: true; command: string; wrapped?: { shell: string; reason: string } }
  | { ok: false; reason: string };

/**
 * The command with cron's `%` rule applied: `\%` becomes `%` (other backslashes stay, as cron
 * leaves them for the shell), or the position of the first unescaped `%`.
 */
export function unescapePercent(command: string): { ok: true; command: string } | { ok: false; at: number } {
  let out = '';
  let escaped = false;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (escaped) {
      // As cron does: the backslash before a % goes, any other stays.
      out = c === '%' ? `${out.slice(0, -1)}%` : out + c;
      escaped = false;
      continue;
    }
    if (c === '%') return { ok: false, at: i };
    out += c;
    if (c === '\\') escaped = true;
  }
  return { ok: true, command: out };
}

/** `text` as one single-quoted shell word. */
export function singleQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** True when the agent, holding exactly `command` in its allowlist, would run it. */
function agentRuns(command: string): boolean {
  try {
    return new Allowlist([command]).check(command).allowed;
  } catch {
    return false;
  }
}

/** Why a command the agent's parser accepts still needs a shell: a word starting with `~`. */
function needsShellAnyway(command: string): string | undefined {
  return /(^|\s)~/.test(command) ? 'it starts a word with "~" (the home directory, which only a shell expands)' : undefined;
}

/**
 * The command of a crontab line (after the schedule and the user column, `%` not yet handled) as
 * the agent will run it, or why it cannot be converted.
 */
export function agentCommand(raw: string, shell: string = DEFAULT_CRON_SHELL): AgentCommand {
  const unescaped = unescapePercent(raw);
  if (!unescaped.ok) {
    return {
      ok: false,
      reason: `the command has an unescaped "%" (at character ${unescaped.at + 1} of the command): crontab cuts the command there and sends the rest to its `
        + 'standard input (each further % a newline), and the agent runs commands with no standard input. Write \\% for a literal '
        + 'percent sign (date +\\%F), or move the input into a script',
    };
  }
  const command = unescaped.command.trim();
  if (command === '') return { ok: false, reason: 'the line has no command' };
  const parsed = parseCommand(command);
  const reason = parsed.ok ? needsShellAnyway(command) : parsed.reason.replace(/; the agent runs commands without a shell$/, '');
  if (reason === undefined && agentRuns(command)) return { ok: true, command };
  const wrapped = `${shell} -c ${singleQuote(command)}`;
  if (!agentRuns(wrapped)) return { ok: false, reason: `the agent cannot run it, even through ${shell} -c (${reason ?? 'its allowlist parser refuses it'})` };
  return { ok: true, command: wrapped, wrapped: { shell, reason: reason ?? 'the agent\'s parser refuses it' } };
}

/** Programs that say little about what a command does: the name is taken from what follows them. */
const RUNNERS = new Set([
  'sh', 'bash', 'dash', 'zsh', 'ksh', 'env', 'nice', 'ionice', 'nohup', 'timeout', 'flock', 'sudo', 'su', 'run-parts', 'test', 'cd', 'exec',
  'python', 'python2', 'python3', 'perl', 'ruby', 'php', 'node', 'java', 'usr', 'bin', 'sbin', 'local', 'opt', 'dev', 'null', 'true',
]);
/** A word that ends the part of a command a name is made from: a shell operator or a redirection. */
const STOP = /^(\d*[<>]|[|;&()]|&&|\|\|)/;
const MAX_SLUG = 48;

/**
 * A task name for the command of crontab line `line`: up to three words of the command (program
 * and script names without their directory and extension, then arguments; options, variable
 * assignments and generic runners such as `sh` or `python3` left out), lower-cased, joined by
 * `-`, then `-l<line>`: `/usr/local/bin/backup-db.sh --full > /dev/null` on line 12 is
 * `backup-db-l12`. Deterministic, and unique within one crontab; it fits the task NAME_PATTERN.
 */
export function taskNameOf(command: string, line: number): string {
  const words: string[] = [];
  for (const token of command.trim().split(/\s+/)) {
    if (words.length === 3) break;
    // `cd /srv && ./run.sh`: the name comes from what follows a separator that ends nothing yet.
    if (STOP.test(token)) {
      if (words.length === 0) continue;
      break;
    }
    if (/^-|^[A-Za-z_][A-Za-z0-9_]*=/.test(token)) continue;
    const base = token.replace(/['"]/g, '').replace(/\/+$/, '').split('/').pop() ?? '';
    const word = base.replace(/\.(sh|bash|py|pl|rb|php|js|mjs|ts)$/i, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
    if (word === '' || RUNNERS.has(word)) continue;
    words.push(word);
  }
  const slug = words.join('-').slice(0, MAX_SLUG).replace(/-+$/, '');
  return `${slug || 'cron'}-l${line}`;
}
