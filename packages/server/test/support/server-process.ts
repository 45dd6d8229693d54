import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../../../..');
export const NODE = join(ROOT, 'node_modules/.bin/node');
export const ECRON = join(ROOT, 'packages/server/bin/ecron.js');

/** A temporary data directory for one test. */
export function tempDataDir(prefix = 'ecron-e2e-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * A real `ecron start` process. Its stderr banner tells the URL; stdout (JSON logs) goes to
 * DATA_DIR/server.log.
 */
export class ServerProcess {
  readonly dataDir: string;
  child: ChildProcess | null = null;
  url = '';
  /** Everything the process has written to stderr so far. */
  stderr = '';
  #exit: Promise<number | null> = Promise.resolve(null);

  constructor(dataDir: string) {
    this.dataDir = dataDir;
  }

  async start(args: string[] = [], env: Record<string, string> = {}): Promise<string> {
    const log = openSync(join(this.dataDir, 'server.log'), 'a');
    const child = spawn(NODE, [ECRON, 'start', '--data-dir', this.dataDir, '--port', '0', ...args], {
      stdio: ['ignore', log, 'pipe'],
      env: { ...process.env, ...env },
    });
    this.child = child;
    this.#exit = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    this.stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => { this.stderr += chunk.toString(); });
    this.url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server did not start: ${this.stderr}`)), 20_000);
      child.stderr!.on('data', () => {
        const match = /listening on (http:\/\/\S+)/.exec(this.stderr);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited with ${code}: ${this.stderr}`)); });
    });
    return this.url;
  }

  /** Resolves with stderr once it matches `pattern` (now or as the process writes more). */
  stderrMatching(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    if (pattern.test(this.stderr)) return Promise.resolve(this.stderr);
    const stream = this.child?.stderr;
    if (!stream) return Promise.reject(new Error(`no running process; stderr: ${this.stderr}`));
    return new Promise<string>((resolve, reject) => {
      const onData = (): void => {
        if (!pattern.test(this.stderr)) return;
        clearTimeout(timer);
        stream.off('data', onData);
        resolve(this.stderr);
      };
      const timer = setTimeout(() => { stream.off('data', onData); reject(new Error(`stderr never matched ${pattern}: ${this.stderr}`)); }, timeoutMs);
      stream.on('data', onData);
    });
  }

  get adminToken(): string {
    return readFileSync(join(this.dataDir, 'admin.token'), 'utf8').trim();
  }

  get signingKey(): string {
    return readFileSync(join(this.dataDir, 'signing.key'), 'utf8').trim();
  }

  async api<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.adminToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  }

  /** Sends a signal and waits for the process to exit; resolves with its exit code. */
  async kill(signal: NodeJS.Signals): Promise<number | null> {
    this.child?.kill(signal);
    const code = await this.#exit;
    this.child = null;
    return code;
  }

  exited(): Promise<number | null> {
    return this.#exit;
  }
}
