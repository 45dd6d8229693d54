import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { NODE } from '../support/server-process.ts';

const FIXTURE = join(import.meta.dirname, 'fixtures/sdk-node.ts');

export interface NodeEvent {
  node: string;
  event: 'ready' | 'start' | 'done' | 'aborted';
  runId?: string;
  shard?: number;
  reason?: string;
  at?: number;
  address?: string;
}

/** Real SDK executor processes (fixtures/sdk-node.ts); every line they print is an event. */
export class SdkNodes extends EventEmitter<{ event: [NodeEvent] }> {
  readonly events: NodeEvent[] = [];
  readonly #children = new Map<string, ChildProcess>();

  readonly server: string;
  readonly token: string;

  constructor(server: string, token: string) {
    super();
    this.server = server;
    this.token = token;
  }

  async start(nodeId: string, options: { group: string; weight?: number; labels?: Record<string, string>; mode?: 'push' | 'pull' }): Promise<void> {
    const child = spawn(NODE, [FIXTURE], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        ...process.env, ECRON_SERVER: this.server, ECRON_TOKEN: this.token, NODE_ID: nodeId, GROUP: options.group,
        WEIGHT: String(options.weight ?? 1), LABELS: JSON.stringify(options.labels ?? {}), MODE: options.mode ?? 'push',
      },
    });
    this.#children.set(nodeId, child);
    const since = this.events.length;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const event = JSON.parse(line) as NodeEvent;
        this.events.push(event);
        this.emit('event', event);
      } catch { /* not an event line */ }
    });
    await this.next((e) => e.node === nodeId && e.event === 'ready' && this.events.indexOf(e) >= since, 20_000);
  }

  /** Resolves with the first event (already seen, or to come) matching `predicate`. */
  next(predicate: (e: NodeEvent) => boolean, timeoutMs = 10_000): Promise<NodeEvent> {
    const seen = this.events.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.off('event', listener); reject(new Error('no matching executor event')); }, timeoutMs);
      const listener = (e: NodeEvent): void => {
        if (!predicate(e)) return;
        clearTimeout(timer);
        this.off('event', listener);
        resolve(e);
      };
      this.on('event', listener);
    });
  }

  /** Sends `signal` to a node and waits for its exit. */
  async kill(nodeId: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.#children.get(nodeId);
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    await exited;
    this.#children.delete(nodeId);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.#children.keys()].map((id) => this.kill(id, 'SIGKILL')));
  }
}
