import { createInterface } from 'node:readline/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { Command, CommanderError } from 'commander';
import { CliError } from './cli-error.ts';
import { CliContext } from './command-support.ts';
import { registerAgentCommand } from './commands/agent.ts';
import { registerExecutorCommands } from './commands/executor.ts';
import { registerRunCommands } from './commands/run.ts';
import { registerTaskCommands } from './commands/task.ts';
import { registerNodeCommands } from './commands/node.ts';
import { registerTokenCommands } from './commands/token.ts';
import { type CliIo, DEFAULT_SERVER, explainAuthError } from './context.ts';
import { formatError } from './output.ts';
import { VERSION } from '../version.ts';

/** The command groups that only talk to a server over HTTP. */
const CLIENT_COMMANDS = new Set(['task', 'run', 'token', 'executor']);

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
 * The `ecron` program. Its commands write through `io`; nothing here exits the process.
 * `start` (and the whole server behind it) is loaded only when the arguments may need it, so that
 * client commands start fast and do not depend on the server's modules.
 */
export async function buildProgram(io: CliIo, args: readonly string[], ctx: CliContext = new CliContext(io)): Promise<Command> {
  const program = new Command('ecron')
    .description('ecron: a distributed task scheduler')
    .version(VERSION, '-V, --version', 'print the version')
    .option('--server <url>', `the ecron server (env ECRON_SERVER; default ${DEFAULT_SERVER})`)
    .option('--token <token>', 'the API token (env ECRON_TOKEN; default: the admin.token of ./.ecron or $ECRON_DATA_DIR)')
    .option('--json', 'print the raw JSON result only')
    // These settings are inherited by every command created below.
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({
      writeOut: (text) => io.stdout(text),
      writeErr: (text) => io.stderr(text),
      outputError: (text, write) => write(`ecron: ${text.replace(/^error: /, '')}`),
    })
    .exitOverride();
  if (!CLIENT_COMMANDS.has(commandName(args) ?? '')) {
    const { registerStartCommand } = await import('./commands/start.ts');
    registerStartCommand(program);
  }
  registerTaskCommands(program, ctx);
  registerRunCommands(program, ctx);
  registerTokenCommands(program, ctx);
  registerNodeCommands(program, ctx);
  registerExecutorCommands(program, ctx);
  registerAgentCommand(program);
  return program;
}

/** Turns anything thrown by a command into the stderr text and exit code. */
function report(error: unknown, ctx: CliContext, io: CliIo): number {
  if (error instanceof CommanderError) {
    // Commander has already written its message (or the help/version text).
    return error.exitCode === 0 ? 0 : 2;
  }
  const explained = explainAuthError(error, ctx.session);
  if (explained instanceof CliError) {
    io.stderr(formatError(explained));
    return explained.exitCode;
  }
  // An error with a stable code from elsewhere in ecron (EcronError) keeps its code.
  const coded = explained as { code?: unknown; message?: unknown; details?: unknown } | null;
  if (typeof coded?.code === 'string' && /^[A-Z][A-Z0-9_]+$/.test(coded.code) && typeof coded.message === 'string') {
    io.stderr(formatError(new CliError(coded.code, coded.message, { details: coded.details })));
  } else {
    io.stderr(formatError(explained));
  }
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
    return report(error, ctx, io);
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
