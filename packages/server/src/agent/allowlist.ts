/**
 * The agent's allowlist: which command lines the server may make this agent run.
 *
 * A command line is split into argv with shell-quote, following the shell's quoting rules
 * ('single', "double", \escape, $'ansi-c'), but nothing else of a shell happens: no operators,
 * redirections, pipes, globs, variable or command substitution. A command that uses any of them is
 * refused, because without a shell it would not mean what it says. The command then runs as argv,
 * with no shell in between (see shell-runner.ts).
 *
 * An entry of the allowlist is a command line too. It matches a command when the two argv are
 * equal, token by token. An entry whose last token is an unquoted `*` matches any command whose
 * argv starts with the entry's tokens before the `*`, followed by any further arguments (or none).
 * argv[0] is compared literally: `backup.sh` and `/usr/local/bin/backup.sh` are different commands,
 * and PATH is never consulted to compare them.
 *
 * Beware: an entry that lets the server choose the program, such as `sh -c *`, `bash *`,
 * `env *`, `xargs *` or `python3 *`, allows anything at all, and `find /data -name *` allows
 * `-exec`. The config refuses such entries unless they say `allowDangerous: true`
 * (dangerous-programs.ts); this module only compiles and matches them.
 */
import { parse } from 'shell-quote';

/** The code of a run refused by the allowlist (the run's error starts with it). */
export const COMMAND_NOT_ALLOWED = 'COMMAND_NOT_ALLOWED';

/** A command line split into argv, or the reason it cannot be run without a shell. */
export type ParsedCommand = { ok: true; argv: string[] } | { ok: false; reason: string };

/** One compiled entry of the allowlist. */
export interface AllowlistEntry {
  /** The entry as written in the config. */
  source: string;
  /** The tokens that must match exactly (before the `*`, if any). */
  argv: string[];
  /** True when the entry ended with `*`: further arguments are allowed. */
  anyArguments: boolean;
}

/** The verdict on one command line sent by the server. */
export type AllowlistDecision =
  | { allowed: true; argv: string[]; entry: AllowlistEntry }
  | { allowed: false; error: string };

/** Every `$` shell-quote would expand becomes an object in its output, so that it is refused. */
const keepExpansion = (name: string): { op: 'expansion'; name: string } => ({ op: 'expansion', name });

/**
 * What shell-quote lets through silently but a shell would read differently: an unterminated quote,
 * a trailing backslash, a backtick (command substitution), an unquoted newline (a command separator)
 * and NUL.
 */
function lexicalProblem(command: string): string | undefined {
  let state: 'plain' | 'single' | 'double' | 'ansi' = 'plain';
  for (let i = 0; i < command.length; i++) {
    const c = command[i];
    if (c === '\0') return 'it contains a NUL character';
    if (state === 'single') {
      if (c === "'") state = 'plain';
    } else if (state === 'double' || state === 'ansi') {
      if (c === '\\') i++;
      else if (c === '`' && state === 'double') return 'it contains a backtick (command substitution)';
      else if ((c === '"' && state === 'double') || (c === "'" && state === 'ansi')) state = 'plain';
    } else if (c === '\\') {
      if (i === command.length - 1) return 'it ends with a backslash';
      i++;
    } else if (c === "'") state = 'single';
    else if (c === '"') state = 'double';
    else if (c === '$' && command[i + 1] === "'") {
      state = 'ansi';
      i++;
    } else if (c === '`') return 'it contains a backtick (command substitution)';
    else if (c === '\n' || c === '\r') return 'it contains a newline outside quotes (a command separator)';
  }
  return state === 'plain' ? undefined : 'it has an unterminated quote';
}

/** Describes a shell-quote token that is not a plain word. */
function describeToken(token: object): string {
  if ('comment' in token) return 'a comment (#)';
  const { op } = token as { op: string; pattern?: string; name?: string };
  if (op === 'glob') return `the glob "${(token as { pattern: string }).pattern}"`;
  if (op === 'expansion') return '"$" (variable or command substitution; quote it in single quotes for a literal $)';
  return `the shell operator "${op}"`;
}

/**
 * Splits a command line into argv. `allowFinalStar` lets the last token be an unquoted `*`
 * (allowlist entries): it is returned as the token `*` with `star: true`.
 */
function split(command: string, allowFinalStar: boolean): ParsedCommand & { star?: boolean } {
  const problem = lexicalProblem(command);
  if (problem) return { ok: false, reason: problem };
  let tokens: ReturnType<typeof parse>;
  try {
    tokens = parse(command, keepExpansion);
  } catch (error) {
    return { ok: false, reason: (error as Error).message }; // "Bad substitution: ${}"
  }
  let star = false;
  const argv: string[] = [];
  for (const [i, token] of tokens.entries()) {
    if (typeof token === 'string') {
      argv.push(token);
      continue;
    }
    // An unquoted, unescaped `*` as the last word (shell-quote also reports `\*` as a glob).
    const isFinalStar = allowFinalStar && i === tokens.length - 1 && i > 0 && /\s\*$/.test(command.trimEnd())
      && 'op' in token && token.op === 'glob' && (token as { pattern: string }).pattern === '*';
    if (!isFinalStar) return { ok: false, reason: `it contains ${describeToken(token)}; the agent runs commands without a shell` };
    star = true;
  }
  if (argv.length === 0) return { ok: false, reason: 'it is empty' };
  return { ok: true, argv, star };
}

/** Splits a command line sent by the server into argv, refusing anything that needs a shell. */
export function parseCommand(command: string): ParsedCommand {
  const parsed = split(command, false);
  return parsed.ok ? { ok: true, argv: parsed.argv } : parsed;
}

/** Compiles one allowlist entry; throws an Error saying what is wrong with it. */
export function parseAllowlistEntry(source: string): AllowlistEntry {
  const parsed = split(source, true);
  if (!parsed.ok) throw new Error(`cannot be an allowlist entry: ${parsed.reason}`);
  return { source, argv: parsed.argv, anyArguments: parsed.star === true };
}

/** True when `argv` is allowed by `entry`. */
export function entryMatches(entry: AllowlistEntry, argv: readonly string[]): boolean {
  if (entry.anyArguments ? argv.length < entry.argv.length : argv.length !== entry.argv.length) return false;
  return entry.argv.every((token, i) => argv[i] === token);
}

/** The error a refused command fails its run with. */
export function notAllowedError(command: string, reason?: string): string {
  const base = `${COMMAND_NOT_ALLOWED}: ${JSON.stringify(command)} is not in this agent's allowlist`;
  return reason ? `${base} (${reason})` : base;
}

/** The compiled allowlist of an agent. */
export class Allowlist {
  readonly entries: readonly AllowlistEntry[];

  /** Compiles `sources`; throws on the first invalid entry (config validation reports which). */
  constructor(sources: readonly string[]) {
    this.entries = Object.freeze(sources.map(parseAllowlistEntry));
  }

  get size(): number {
    return this.entries.length;
  }

  /** Decides whether `command` may run, and if so with which argv. */
  check(command: string): AllowlistDecision {
    const parsed = parseCommand(command);
    if (!parsed.ok) return { allowed: false, error: notAllowedError(command, parsed.reason) };
    const entry = this.entries.find((candidate) => entryMatches(candidate, parsed.argv));
    if (!entry) return { allowed: false, error: notAllowedError(command) };
    return { allowed: true, argv: parsed.argv, entry };
  }
}
