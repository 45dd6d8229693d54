/**
 * Runs one allowed command as a process of its own, without a shell, and reports its output line
 * by line.
 *
 * The child is spawned with `detached: true`, so it leads a new session and process group whose id
 * is its pid. Everything it starts (children, grandchildren, `cmd &`) stays in that group unless it
 * leaves on purpose (setsid), and the group is what gets signalled:
 * - on abort (cancel, deadline, agent shutdown): SIGTERM to the group, SIGKILL to the group
 *   `killGraceMs` later if anything is left;
 * - when the command exits while processes it started are still running in the group: the same,
 *   so that a run never leaves processes behind (a warning line says so in the run's log).
 *
 * The run is over once the command has exited, its output pipes have closed, and nothing of its
 * group outlived a SIGTERM without having been sent SIGKILL.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { LineSplitter, MAX_LINE_BYTES } from './line-splitter.ts';
import { processGroupAlive, signalProcessGroup } from './process-group.ts';

export type OutputStream = 'stdout' | 'stderr';

export interface ShellRunOptions {
  /** The program and its arguments; argv[0] is found on the env's PATH unless it holds a "/". */
  argv: readonly string[];
  cwd: string;
  /** The child's whole environment. */
  env: Record<string, string>;
  /** Aborting it terminates the process group. */
  signal: AbortSignal;
  /** Delay between SIGTERM and SIGKILL. */
  killGraceMs: number;
  /** One call per line of output, in order within each stream. */
  onLine: (line: string, stream: OutputStream) => void;
  /** Called with the pid (= process group id) once the process has started. */
  onSpawn?: (pid: number) => void;
  /** Called when the command exited but left processes running in its group. */
  onLeftovers?: () => void;
  /** Longest line kept, in bytes. @default 16 KiB */
  maxLineBytes?: number;
}

export interface ShellRunResult {
  /** The exit code, or null when the process was killed by a signal. */
  exitCode: number | null;
  /** The signal that killed the process, or null. */
  signal: NodeJS.Signals | null;
  /** True when the run's process group was signalled (abort, or processes left behind). */
  terminated: boolean;
}

/** After SIGKILL, how long the output pipes may stay open (held by a process that left the group). */
const PIPE_DRAIN_AFTER_KILL_MS = 1000;
/** While the group outlives its SIGTERM, how often to look whether it is gone. */
const GROUP_POLL_MS = 50;

/** A spawn failure (ENOENT, EACCES…) in words. */
function describeSpawnError(error: NodeJS.ErrnoException, argv0: string, cwd: string): string {
  if (error.code === 'ENOENT' && !existsSync(cwd)) return `cannot start ${JSON.stringify(argv0)}: the working directory ${cwd} does not exist`;
  if (error.code === 'ENOENT') return `cannot start ${JSON.stringify(argv0)}: no such file (or not found on PATH) (ENOENT)`;
  if (error.code === 'EACCES') return `cannot start ${JSON.stringify(argv0)}: permission denied (EACCES)`;
  return `cannot start ${JSON.stringify(argv0)}: ${error.message}`;
}

/**
 * Runs `argv` to its end. Resolves with how it ended (whatever the exit code); rejects only when
 * the process could not be started, or the signal was aborted before it was.
 */
export function runShellCommand(options: ShellRunOptions): Promise<ShellRunResult> {
  const { argv, cwd, env, signal, killGraceMs } = options;
  if (argv.length === 0) return Promise.reject(new Error('empty command'));
  if (signal.aborted) return Promise.reject(new Error('aborted before the command started'));
  const maxLineBytes = options.maxLineBytes ?? MAX_LINE_BYTES;

  return new Promise<ShellRunResult>((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let started = false;
    let settled = false;
    let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    let closed = false;
    let terminating = false;
    let killSent = false;
    let killTimer: NodeJS.Timeout | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    let groupTimer: NodeJS.Timeout | undefined;

    const cleanUp = (): void => {
      settled = true;
      clearTimeout(killTimer);
      clearTimeout(drainTimer);
      clearTimeout(groupTimer);
      signal.removeEventListener('abort', terminate);
    };

    const finishIfDone = (): void => {
      if (settled || !exited || !closed) return;
      // Processes that ignore SIGTERM get their SIGKILL before the run is reported over; those
      // that obey it are seen gone at the next look.
      if (terminating && !killSent && processGroupAlive(child.pid!)) {
        clearTimeout(groupTimer);
        groupTimer = setTimeout(finishIfDone, GROUP_POLL_MS);
        return;
      }
      cleanUp();
      resolve({ exitCode: exited.code, signal: exited.signal, terminated: terminating });
    };

    function terminate(): void {
      if (terminating || !started) return;
      terminating = true;
      signalProcessGroup(child.pid!, 'SIGTERM');
      killTimer = setTimeout(() => {
        killSent = true;
        signalProcessGroup(child.pid!, 'SIGKILL');
        // A process that left the group (setsid) may still hold the pipes: stop waiting for them.
        drainTimer = setTimeout(() => {
          child.stdout!.destroy();
          child.stderr!.destroy();
        }, PIPE_DRAIN_AFTER_KILL_MS);
        finishIfDone();
      }, killGraceMs);
    }

    for (const stream of ['stdout', 'stderr'] as const) {
      const splitter = new LineSplitter((line) => options.onLine(line, stream), maxLineBytes);
      child[stream]!.on('data', (chunk: Buffer) => splitter.push(chunk));
      child[stream]!.on('end', () => splitter.end());
    }

    child.once('spawn', () => {
      started = true;
      options.onSpawn?.(child.pid!);
      if (signal.aborted) terminate();
      else signal.addEventListener('abort', terminate, { once: true });
    });
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (started || settled) return; // a failure to signal, after a start: the exit still follows
      cleanUp();
      reject(new Error(describeSpawnError(error, argv[0]!, cwd), { cause: error }));
    });
    child.once('exit', (code, exitSignal) => {
      exited = { code, signal: exitSignal };
      if (!terminating && processGroupAlive(child.pid!)) {
        options.onLeftovers?.();
        terminate();
      }
      finishIfDone();
    });
    child.once('close', () => {
      closed = true;
      finishIfDone();
    });
  });
}
