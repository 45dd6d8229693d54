import { createInterface } from 'node:readline/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { Command, CommanderError } from 'commander';
import { CliError } from './cli-error.ts';
import { CliContext } from './command-support.ts';
import { registerAgentCommand } from './commands/agent.ts';
import { registerAlertCommands } from './commands/alert.ts';
import { registerIncidentCommands } from './commands/incident.ts';
import { registerBackfillCommands } from './commands/backfill.ts';
import { registerEventCommands } from './commands/events.ts';
import { registerSubscriptionCommands } from './commands/subscription.ts';
import { registerExecutorCommands } from './commands/executor.ts';
import { registerImportCommands } from './commands/import.ts';
import { registerRunCommands } from './commands/run.ts';
import { registerTaskCommands } from './commands/task.ts';
import { registerNodeCommands } from './commands/node.ts';
import { registerTokenCommands } from './commands/token.ts';
import { registerWorkflowCommands } from './commands/workflow.ts';
import { type CliIo, DEFAULT_SERVER, explainAuthError } from './context.ts';
import { formatError, formatJsonError } from './output.ts';
import { VERSION } from '../version.ts';

/** The command groups that only talk to a server over HTTP. */
const CLIENT_COMMANDS = new Set(['task', 'workflow', 'backfill', 'run', 'token', 'executor', 'events', 'subscription', 'alert', 'incident', 'import']);

/** The first argument that is not an option (the command), skipping the values of global options. */
function commandName(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--') return args[i + 1];
    if (arg === '--server' || arg === '--token') i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

/**
 * True when the arguments ask for `--json` (before any `--`): failures are then printed in the
 * API's JSON error form, even those found before a command runs (usage errors).
 */
export function wantsJson(args: readonly string[]): boolean {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--') return false;
    if (arg === '--server' || arg === '--token') i++;
    else if (arg === '--json') return true;
  }
  return false;
}

/**
 * The `ecron` program. Its commands write through `io`; nothing here exits the process.
 * `start` (and the whole server behind it) is loaded only when the arguments may need it, so that
 * client commands start fast and do not depend on the server's modules.
 */
export async function buildProgram(io: CliIo, args: readonly string[], ctx: CliContext = new CliContext(io)): Promise<Command> {
  // With --json, commander's usage errors are not written here: `report` prints them as JSON.
  const json = wantsJson(args);
  const program = new Command('ecron')
    .description('ecron: a distributed task scheduler')
    .version(VERSION, '-V, --version', 'print the version')
    .option('--server <url>', `the ecron server (env ECRON_SERVER; default ${DEFAULT_SERVER})`)
    .option('--token <token>', 'the API token (env ECRON_TOKEN; default: the admin.token of ./.ecron or $ECRON_DATA_DIR)')
    .option('--json', 'print the raw JSON result only')
    // These settings are inherited by every command created below.
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError(json ? false : '(add --help for usage)')
    .configureOutput({
      writeOut: (text) => io.stdout(text),
      writeErr: (text) => io.stderr(text),
      outputError: (text, write) => { if (!json) write(`ecron: ${commanderMessage(text)}`); },
    })
    .exitOverride();
  if (!CLIENT_COMMANDS.has(commandName(args) ?? '')) {
    const { registerStartCommand } = await import('./commands/start.ts');
    registerStartCommand(program);
  }
  registerTaskCommands(program, ctx);
  registerWorkflowCommands(program, ctx);
  registerBackfillCommands(program, ctx);
  registerRunCommands(program, ctx);
  registerTokenCommands(program, ctx);
  registerNodeCommands(program, ctx);
  registerExecutorCommands(program, ctx);
  registerEventCommands(program, ctx);
  registerSubscriptionCommands(program, ctx);
  registerAlertCommands(program, ctx);
  registerIncidentCommands(program, ctx);
  registerImportCommands(program, ctx);
  registerAgentCommand(program);
  return program;
}

/** A commander error message without its `error: ` prefix. */
function commanderMessage(text: string): string {
  return text.replace(/^error: /, '');
}

/** Commander's errors that are help or version output, not failures to report. */
const COMMANDER_OUTPUT = new Set(['commander.help', 'commander.helpDisplayed', 'commander.version']);

/**
 * Turns anything thrown by a command into the stderr text and exit code: one line
 * `ecron: CODE: message`, or with `--json` the API's form `{ "error": { code, message, details? } }`.
 */
function report(error: unknown, ctx: CliContext, io: CliIo, json: boolean): number {
  if (error instanceof CommanderError) {
    // Without --json, commander has already written its message (or the help/version text).
    const exitCode = error.exitCode === 0 ? 0 : 2;
    if (json && exitCode !== 0 && !COMMANDER_OUTPUT.has(error.code)) {
      io.stderr(formatJsonError(new CliError('USAGE', commanderMessage(error.message).trim(), { exitCode })));
    }
    return exitCode;
  }
  const explained = explainAuthError(error, ctx.session);
  let failure: unknown = explained;
  if (!(explained instanceof CliError)) {
    // An error with a stable code from elsewhere in ecron (EcronError) keeps its code.
    const coded = explained as { code?: unknown; message?: unknown; details?: unknown } | null;
    if (typeof coded?.code === 'string' && /^[A-Z][A-Z0-9_]+$/.test(coded.code) && typeof coded.message === 'string') {
      failure = new CliError(coded.code, coded.message, { details: coded.details });
    }
  }
  io.stderr(json ? formatJsonError(failure) : formatError(failure));
  if (explained instanceof CliError) return explained.exitCode;
  if (io.env.ECRON_DEBUG && explained instanceof Error && explained.stack) io.stderr(`${explained.stack}\n`);
  return 1;
}

/** Runs the CLI on `argv` (as in `process.argv`: node, script, arguments…) and returns the exit code. */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const ctx = new CliContext(io);
  try {
    const program = await buildProgram(io, argv.slice(2), ctx);
    await program.parseAsync([...argv], { from: 'node' });
    return 0;
  } catch (error) {
    return report(error, ctx, io, ctx.session?.json === true || wantsJson(argv.slice(2)));
  }
}

/** The io of the real process. */
export function processIo(): CliIo {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error; // `ecron … | head` closing the pipe is not a failure
  });
  return {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
    stdinIsTty: process.stdin.isTTY === true,
    stderrIsTty: process.stderr.isTTY === true,
    readStdin: async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
      return Buffer.concat(chunks).toString('utf8');
    },
    prompt: async (question) => {
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      try {
        return await rl.question(question);
      } finally {
        rl.close();
      }
    },
    sleep: (ms) => delay(ms),
  };
}

/** The entry point of `bin/ecron.js`: sets `process.exitCode`, never calls `process.exit`. */
export async function main(argv: readonly string[] = process.argv): Promise<number> {
  const code = await run(argv, processIo());
  process.exitCode = code;
  return code;
}
