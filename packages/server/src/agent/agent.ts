/**
 * `ecron agent`: an SDK executor that serves the `shell` handler of one executor group. The
 * scheduler sends it the runs of `{ "type": "shell", "group": …, "command": … }` targets; it runs
 * the commands its allowlist allows (shell-handler.ts) and refuses the others.
 *
 * Lifecycle: start() listens (push) or starts polling (pull), registers and heartbeats; stop()
 * leaves the registry, lets runs in flight finish for `shutdownGraceMs`, then aborts the rest,
 * which sends their process groups SIGTERM and, `killGraceMs` later, SIGKILL. The commands run in
 * process groups of their own, so a signal to the agent does not reach them: if the agent must
 * exit at once, killProcessGroups() ends them first.
 */
import { hostname } from 'node:os';
import { CONTAINER_HANDLER, SHELL_HANDLER } from '@ecron/contracts';
import { Executor, type SdkLogger } from '@ecron/sdk';
import { ContainerEngines } from '../containers/engines.ts';
import type { AgentConfig } from './config.ts';
import { createContainerHandler, removeLeftovers, type ContainerHandlerOptions } from './container-handler.ts';
import { signalProcessGroup } from './process-group.ts';
import { createShellHandler, type ShellHandler } from './shell-handler.ts';

export interface AgentOptions {
  config: AgentConfig;
  /** The environment commands inherit (the agent's own, in the CLI). */
  baseEnv: Record<string, string | undefined>;
  /** The SDK's diagnostics. @default silent */
  log?: SdkLogger;
  /** Shown in the executor registry. */
  version?: string;
  /** Observes each started command: its run and process group (tests). */
  onSpawn?: (runId: string, pid: number) => void;
}

export class Agent implements AsyncDisposable {
  readonly config: AgentConfig;
  readonly executor: Executor;
  readonly #shell: ShellHandler;
  readonly #containers: ContainerHandlerOptions | null;

  constructor(options: AgentOptions) {
    const { config } = options;
    this.config = config;
    this.executor = new Executor({
      server: config.server,
      token: config.token,
      group: config.group,
      namespace: config.namespace,
      ...(config.id === undefined ? {} : { id: config.id }),
      labels: { ...config.labels },
      weight: config.weight,
      mode: config.mode,
      ...(config.listen === undefined ? {} : { listen: { ...config.listen } }),
      ...(config.advertiseUrl === undefined ? {} : { advertiseUrl: config.advertiseUrl }),
      ...(config.shutdownGraceMs === undefined ? {} : { shutdownGraceMs: config.shutdownGraceMs }),
      // Pull and stream modes take no more runs than the agent runs at once.
      maxConcurrency: config.maxConcurrency,
      ...(options.log === undefined ? {} : { log: options.log }),
      ...(options.version === undefined ? {} : { version: options.version }),
    });
    this.#shell = createShellHandler({
      allowlist: config.allowlist,
      workingDir: config.workingDir,
      baseEnv: options.baseEnv,
      env: config.env,
      killGraceMs: config.killGraceMs,
      maxConcurrency: config.maxConcurrency,
      ...(options.onSpawn === undefined ? {} : { onSpawn: options.onSpawn }),
    });
    this.executor.handle(SHELL_HANDLER, (ctx) => this.#shell(ctx));
    // Container targets with this group, on the agent's engines (when it has any).
    this.#containers = config.containers.engines.length === 0 ? null : {
      engines: new ContainerEngines(config.containers.engines),
      images: config.containers.images,
      owner: `agent:${config.namespace}/${config.group}@${config.id ?? hostname()}`,
      stopGraceMs: config.killGraceMs,
    };
    if (this.#containers) this.executor.handle(CONTAINER_HANDLER, createContainerHandler(this.#containers));
  }

  /** The node's id in the executor registry. */
  get id(): string {
    return this.executor.id;
  }

  /** Where runs are sent (push mode, once started); null in pull mode. */
  get address(): string | null {
    return this.executor.address;
  }

  /** Listens or polls, and registers; rejects if the server refuses or cannot be reached. */
  async start(): Promise<void> {
    // What a previous process of this agent left running belongs to attempts the scheduler has
    // given up on (their connection closed): removed before new runs come.
    if (this.#containers) await removeLeftovers(this.#containers);
    await this.executor.start();
  }

  /** Graceful stop (idempotent): see the lifecycle above. */
  async stop(): Promise<void> {
    await this.executor.stop();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /** Sends `signal` to the process group of every command running now; returns how many. */
  killProcessGroups(signal: NodeJS.Signals = 'SIGKILL'): number {
    let count = 0;
    for (const pgid of this.#shell.processGroups) if (signalProcessGroup(pgid, signal)) count += 1;
    return count;
  }

  /** One line for the operator: group, id, where runs come from, the allowlist's size. */
  describe(): string {
    const { config } = this;
    const containers = config.containers.engines.length === 0 ? ''
      : `, containers on ${config.containers.engines.map((e) => e.name).join(', ')} (${config.containers.images.length} image ${config.containers.images.length === 1 ? 'pattern' : 'patterns'})`;
    const entries = `${config.allowlist.size} allowlist ${config.allowlist.size === 1 ? 'entry' : 'entries'}${containers}`;
    const where = config.mode === 'pull' ? `pulling runs from ${config.server}`
      : config.mode === 'stream' ? `streaming runs from ${config.server}` : `listening on ${this.address ?? '(not started)'}`;
    return `group ${config.group}, id ${this.id}, ${where}, ${entries}`;
  }
}
