/**
 * A benchmark helper process driven over its IPC channel (bench/sdk-executor.ts,
 * bench/quota-executor.ts): started tracked by children.ts, it answers `{ type }` messages with a
 * message of the same type. Keeps the tail of its output, and reports an exit before stop() as a
 * crash.
 */
import type { ChildProcess } from 'node:child_process';
import { spawnTracked, stopChild } from './children.ts';
import { REPO_ROOT } from './processes.ts';

export class IpcChild {
  readonly child: ChildProcess;
  /** How messages name it, e.g. `SDK executor node-1`. */
  readonly #label: string;
  #output = '';
  #stopping = false;
  #crashed = false;

  protected constructor(label: string, child: ChildProcess) {
    this.#label = label;
    this.child = child;
    const keep = (chunk: Buffer) => {
      this.#output = (this.#output + chunk.toString('utf8')).slice(-8000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.once('exit', (code, signal) => {
      if (this.#stopping) return;
      this.#crashed = true;
      process.stderr.write(`bench: ${label} (pid ${child.pid}) exited unexpectedly (code ${code}, signal ${signal}):\n${this.#output}\n`);
    });
  }

  /** Spawns `script` (a path below the repository) with `env` added to this process's, and an IPC channel. */
  protected static spawn(script: string, env: Record<string, string>, nodeArgs: string[] = []): ChildProcess {
    return spawnTracked(process.execPath, [...nodeArgs, script], {
      cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], serialization: 'advanced', env: { ...process.env, ...env },
    });
  }

  /** True when the process exited before stop() was called. */
  get crashed(): boolean {
    return this.#crashed;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Sends `{ type }` and waits for the process's message of that type. */
  protected ask(type: string, timeoutMs?: number): Promise<Record<string, unknown>> {
    this.child.send({ type });
    return this.next(type, timeoutMs);
  }

  /** Graceful stop (a `stop` message), SIGTERM then SIGKILL after the grace. */
  async stop(graceMs = 10_000): Promise<void> {
    this.#stopping = true;
    if (this.child.connected) this.child.send({ type: 'stop' });
    await stopChild(this.child, 'SIGTERM', graceMs);
  }

  /** The next IPC message of `type`; fails when the process exits or after `timeoutMs`. */
  protected next(type: string, timeoutMs = 15_000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`${this.#label}: no "${type}" message within ${timeoutMs} ms:\n${this.#output}`)), timeoutMs);
      const onMessage = (message: Record<string, unknown>) => {
        if (message?.type === type) finish(null, message);
      };
      const onExit = (code: number | null) => finish(new Error(`${this.#label} exited (${code}) before "${type}":\n${this.#output}`));
      const finish = (error: Error | null, message?: Record<string, unknown>) => {
        clearTimeout(timer);
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
        if (error) reject(error);
        else resolve(message!);
      };
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
    });
  }
}
