/**
 * The `shell` handler of `ecron agent`: what one run request whose handler is `shell` comes to.
 *
 * 1. The request's `command` is checked against the allowlist. A refused command fails the run
 *    with `COMMAND_NOT_ALLOWED: "<command>" is not in this agent's allowlist` (also logged to the
 *    run at level error) and nothing is spawned.
 * 2. The command waits for one of the agent's `maxConcurrency` slots.
 * 3. It runs as argv without a shell, in its own process group (shell-runner.ts), with the run's
 *    identity in its environment. stdout lines go to the run's log at level info, stderr lines at
 *    level warn.
 * 4. Exit code 0 is success, with output `{ exitCode: 0 }`; another code fails the run with
 *    `exit code N`; a process killed by a signal fails it with `killed by SIGNAL`.
 */
import { TRACEPARENT_ENV, type RunRequest } from '@ecron/contracts';
import { activeTraceparent } from '@ecron/sdk';
import { runVariables } from '../core/run-variables.ts';
import type { Allowlist } from './allowlist.ts';
import { RunSlots } from './run-slots.ts';
import { runShellCommand } from './shell-runner.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * What the handler uses of the SDK's handler context. The SDK's `HandlerContext` has these
 * fields; keeping the handler to them lets it be driven without a server.
 */
export interface ShellRunContext {
  runId: string;
  attempt: number;
  params: Record<string, unknown>;
  shard: { index: number; total: number };
  signal: AbortSignal;
  log: (message: string, level?: LogLevel) => void;
  request: RunRequest;
}

export interface ShellHandlerOptions {
  allowlist: Allowlist;
  workingDir: string;
  /** The agent's environment, which commands inherit (without ECRON_TOKEN). */
  baseEnv: Record<string, string | undefined>;
  /** The config's extra variables, over the agent's. */
  env: Readonly<Record<string, string>>;
  killGraceMs: number;
  maxConcurrency: number;
  /** Observes each started command (tests read its process group through it). */
  onSpawn?: (runId: string, pid: number) => void;
}

/** The output of a successful run. */
export interface ShellRunOutput {
  exitCode: 0;
}

/**
 * The environment of a command: the agent's, minus its API token (a command has no business
 * with it, unless the config's `env` sets it), then the config's `env`, then the run's variables:
 * with them `TRACEPARENT`, the W3C trace context of the run's span (the handler's when an
 * OpenTelemetry SDK records it, else the server's dispatch span), when the run is traced.
 */
export function commandEnvironment(options: Pick<ShellHandlerOptions, 'baseEnv' | 'env'>, ctx: ShellRunContext): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.baseEnv)) {
    if (value !== undefined && name !== 'ECRON_TOKEN') env[name] = value;
  }
  Object.assign(env, options.env, runVariables({ ...ctx.request, attempt: ctx.attempt, shard: ctx.shard, params: ctx.params }));
  const traceparent = ctx.request.traceparent ? activeTraceparent(ctx.request.traceparent) : undefined;
  if (traceparent) env[TRACEPARENT_ENV] = traceparent;
  return env;
}

/** The `shell` handler, and the process groups of the commands it is running now. */
export type ShellHandler = ((ctx: ShellRunContext) => Promise<ShellRunOutput>) & {
  /** Process group ids of the commands running now (the agent kills them if it must exit at once). */
  readonly processGroups: ReadonlySet<number>;
};

/** Builds the handler the agent registers as `shell`. */
export function createShellHandler(options: ShellHandlerOptions): ShellHandler {
  const slots = new RunSlots(options.maxConcurrency);
  const processGroups = new Set<number>();
  const handler = async (ctx: ShellRunContext): Promise<ShellRunOutput> => {
    const command = ctx.request.command;
    if (typeof command !== 'string' || command.trim() === '') {
      const error = 'COMMAND_MISSING: the run request carries no command (is the task\'s target of type shell?)';
      ctx.log(error, 'error');
      throw new Error(error);
    }
    const decision = options.allowlist.check(command);
    if (!decision.allowed) {
      ctx.log(decision.error, 'error');
      throw new Error(decision.error);
    }
    const release = await slots.acquire(ctx.signal);
    try {
      ctx.log(`running ${JSON.stringify(decision.argv)} in ${options.workingDir} (allowed by ${JSON.stringify(decision.entry.source)})`, 'debug');
      let result;
      let pgid: number | undefined;
      try {
        result = await runShellCommand({
          argv: decision.argv,
          cwd: options.workingDir,
          env: commandEnvironment(options, ctx),
          signal: ctx.signal,
          killGraceMs: options.killGraceMs,
          onLine: (line, stream) => ctx.log(line, stream === 'stdout' ? 'info' : 'warn'),
          onSpawn: (pid) => {
            pgid = pid;
            processGroups.add(pid);
            options.onSpawn?.(ctx.runId, pid);
          },
          onLeftovers: () => ctx.log('the command exited but left processes running in its process group; they are being terminated', 'warn'),
        });
      } catch (error) {
        ctx.log((error as Error).message, 'error');
        throw error;
      } finally {
        if (pgid !== undefined) processGroups.delete(pgid);
      }
      if (result.exitCode === 0) return { exitCode: 0 };
      if (result.signal) throw new Error(`killed by ${result.signal}`);
      throw new Error(`exit code ${result.exitCode}`);
    } finally {
      release();
    }
  };
  return Object.assign(handler, { processGroups: processGroups as ReadonlySet<number> });
}
