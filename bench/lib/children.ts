/**
 * Child processes of a benchmark. Every process started here is registered, and killed (by its own
 * pid, never by name) when the benchmark exits: normally, on an error, or on SIGINT/SIGTERM.
 * A watchdog bounds every script's total running time.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

/** Children still running, with the signal that stops each at once (scripts clean up on SIGTERM). */
const children = new Map<ChildProcess, NodeJS.Signals>();
const cleanups: (() => void)[] = [];
let installed = false;
/** Set once the process is being interrupted: no new child may start then. */
let stopping = false;

const isRunning = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

/** Kills every child still running with SIGKILL (synchronous: safe inside an `exit` handler). */
export function killAllChildren(): void {
  for (const child of children.keys()) {
    if (isRunning(child)) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  children.clear();
  runCleanups();
}

function runCleanups(): void {
  for (const cleanup of cleanups.splice(0)) {
    try {
      cleanup();
    } catch {
      // best effort
    }
  }
}

/**
 * Stops every child with its own stop signal (a benchmark script gets SIGTERM, so that it stops
 * its server and executor in turn), waits up to `graceMs` for them, then SIGKILLs the rest.
 */
async function stopAllChildren(graceMs: number): Promise<void> {
  const running = [...children].filter(([child]) => isRunning(child));
  for (const [child, signal] of running) {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
  await Promise.all(running.map(([child]) => waitForExit(child, graceMs)));
  killAllChildren();
}

/** True once the process is being interrupted (no new work should start). */
export function isStopping(): boolean {
  return stopping;
}

/** Runs `fn` at exit (after children are killed), e.g. to remove a temporary directory. */
export function atExit(fn: () => void): void {
  installHandlers();
  cleanups.push(fn);
}

function installHandlers(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killAllChildren);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`\nbench: ${signal}, stopping child processes\n`);
      void stopAllChildren(5000).finally(() => process.exit(130));
    });
  }
  const fail = (what: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`bench: ${what}\n`);
    void stopAllChildren(5000).finally(() => process.exit(1));
  };
  process.on('uncaughtException', (error) => fail(error.stack ?? String(error)));
  process.on('unhandledRejection', (error) => fail(`unhandled rejection: ${(error as Error)?.stack ?? error}`));
}

/**
 * Spawns a child process that is stopped when this process exits or is interrupted: with
 * `stopSignal` on SIGINT/SIGTERM (SIGTERM for a benchmark script, which then stops its own
 * children; the default SIGKILL for a server or executor), with SIGKILL on any other exit.
 */
export function spawnTracked(command: string, args: string[], options: SpawnOptions = {}, stopSignal: NodeJS.Signals = 'SIGKILL'): ChildProcess {
  installHandlers();
  if (stopping) throw new Error(`not starting ${args[0] ?? command}: the benchmark is stopping`);
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  children.set(child, stopSignal);
  child.on('exit', () => children.delete(child));
  return child;
}

/** Resolves when the child has exited; after `timeoutMs`, kills it with SIGKILL and resolves. */
export function waitForExit(child: ChildProcess, timeoutMs: number): Promise<{ code: number | null; signal: string | null; killed: boolean }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode, killed: false });
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ code: null, signal: 'SIGKILL', killed: true });
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, killed: false });
    });
  });
}

/** Stops a child: `signal` first, SIGKILL after `graceMs`. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<{ killed: boolean }> {
  if (child.exitCode !== null || child.signalCode !== null) return { killed: false };
  child.kill(signal);
  const { killed } = await waitForExit(child, graceMs);
  return { killed };
}

/** Exits the process (killing children) if the script runs longer than `ms`. */
export function startWatchdog(ms: number, name: string): void {
  installHandlers();
  const timer = setTimeout(() => {
    process.stderr.write(`bench: ${name} ran longer than its ${Math.round(ms / 1000)} s bound, aborting\n`);
    stopping = true;
    void stopAllChildren(5000).finally(() => process.exit(2));
  }, ms);
  timer.unref();
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
