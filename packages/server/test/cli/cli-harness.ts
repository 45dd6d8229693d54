import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { ApiHarness } from '../api/api-harness.ts';

/** The repository root, the `ecron` binary and the Node 24 of the project. */
export const REPO_ROOT = resolve(import.meta.dirname, '../../../..');
export const ECRON_BIN = join(REPO_ROOT, 'packages/server/bin/ecron.js');
export const NODE = join(REPO_ROOT, 'node_modules/.bin/node');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Added to an environment without any ECRON_* variable. */
  env?: Record<string, string>;
  /** Defaults to a fresh empty directory (so no ./.ecron/admin.token is found). */
  cwd?: string;
  /** Written to standard input, which is then closed. */
  input?: string;
  timeoutMs?: number;
}

/** A scratch directory, removed by `cleanup`. */
export function tempDir(): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'ecron-cli-test-'));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** A temporary directory for the files of a test file's CLI calls (made before, removed after). */
export function useScratchDir(): { path: () => string; file: (name: string, text: string) => string } {
  let dir: ReturnType<typeof tempDir> | undefined;
  beforeAll(() => {
    dir = tempDir();
  });
  afterAll(() => dir?.cleanup());
  return {
    path: () => dir!.path,
    file: (name, text) => {
      const path = join(dir!.path, name);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
      return path;
    },
  };
}

/** Runs the real `ecron` process; resolves with its exit code and output. */
export async function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !key.startsWith('ECRON_')) env[key] = value;
  Object.assign(env, options.env);
  const scratch = options.cwd === undefined ? tempDir() : undefined;
  try {
    return await new Promise<CliResult>((resolvePromise, reject) => {
      const child = spawn(NODE, [ECRON_BIN, ...args], { cwd: options.cwd ?? scratch?.path, env, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
      const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`ecron ${args.join(' ')} did not exit in time; stderr: ${stderr}`)); }, options.timeoutMs ?? 20_000);
      child.on('error', (error) => { clearTimeout(timer); reject(error); });
      child.on('close', (code) => { clearTimeout(timer); resolvePromise({ code, stdout, stderr }); });
      child.stdin.end(options.input ?? '');
    });
  } finally {
    scratch?.cleanup();
  }
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body, or undefined when there was none. */
  body: unknown;
}

export interface StubAnswer {
  status?: number;
  /** Sent as JSON unless `raw` is given. */
  body?: unknown;
  raw?: string;
  /** The content type of `raw`. @default text/html */
  contentType?: string;
}

export type StubHandler = (req: RecordedRequest) => StubAnswer | undefined;

/**
 * A real HTTP server on a free local port that answers like the ecron API from a handler, and
 * records every request. Unhandled routes answer 404 ROUTE_NOT_FOUND.
 */
export interface StubServer {
  url: string;
  requests: RecordedRequest[];
  close: () => Promise<void>;
}

export async function startStubServer(handler: StubHandler): Promise<StubServer> {
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://stub');
      const text = Buffer.concat(chunks).toString('utf8');
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET', path: url.pathname, query: Object.fromEntries(url.searchParams), headers: req.headers,
        body: text === '' ? undefined : JSON.parse(text),
      };
      requests.push(recorded);
      let answer: StubAnswer | undefined;
      try {
        answer = handler(recorded) ?? { status: 404, body: { error: { code: 'ROUTE_NOT_FOUND', message: `no route ${recorded.method} ${recorded.path}` } } };
      } catch (error) {
        answer = { status: 500, body: { error: { code: 'INTERNAL', message: String(error) } } };
      }
      const status = answer.status ?? 200;
      if (answer.raw !== undefined) {
        res.writeHead(status, { 'content-type': answer.contentType ?? 'text/html' }).end(answer.raw);
      } else if (answer.body === undefined) {
        res.writeHead(status).end();
      } else {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
      }
    });
  });
  await new Promise<void>((resolvePromise) => server.listen(0, '127.0.0.1', resolvePromise));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolvePromise) => { server.closeAllConnections(); server.close(() => resolvePromise()); }),
  };
}

/** A local port with nothing listening on it. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolvePromise) => server.listen(0, '127.0.0.1', resolvePromise));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolvePromise) => server.close(() => resolvePromise()));
  return port;
}

/** A task as the API returns it, for stub answers. */
export function taskResource(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const namespace = (overrides.namespace as string | undefined) ?? 'default';
  const name = (overrides.name as string | undefined) ?? 'nightly-report';
  return {
    id: '0190f000-0000-7000-8000-000000000001',
    namespace, name, revision: 1, state: 'active',
    spec: { namespace, name, schedule: { cron: '0 30 2 * * *', timezone: 'Asia/Shanghai' }, target: { type: 'http', url: 'http://127.0.0.1:9000/run' } },
    nextFireAt: '2026-12-01T18:30:00.000Z', lastFireAt: null, lastRunStatus: null, skippedFires: 0,
    createdAt: '2026-11-30T00:00:00.000Z', updatedAt: '2026-11-30T00:00:00.000Z',
    ...overrides,
  };
}

/** A run as the API returns it, for stub answers. */
export function runResource(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: '0190f000-0000-7000-8000-0000000000aa', taskId: '0190f000-0000-7000-8000-000000000001', namespace: 'default', taskName: 'nightly-report',
    taskRevision: 1, trigger: 'manual', scheduledAt: '2026-12-01T00:00:00.000Z', status: 'pending', attempt: 1, attempts: [], params: {},
    progress: null, output: null, error: null, nextAttemptAt: null, createdAt: '2026-12-01T00:00:00.000Z', startedAt: null, finishedAt: null,
    ...overrides,
  };
}

/**
 * The real REST API (buildApp over the SQLite store, {@link ApiHarness}) listening on a local port
 * from before the file's tests to after them, and `ecron` run against it with the admin token.
 */
export function useApiForCli(): { readonly h: ApiHarness; ecron(args: string[], options?: CliOptions): Promise<CliResult> } {
  let h: ApiHarness | undefined;
  let server = '';
  beforeAll(async () => {
    h = await new ApiHarness().start();
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    server = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await h?.close();
  });
  return {
    get h(): ApiHarness {
      if (!h) throw new Error('the API is not started yet (use it inside a test)');
      return h;
    },
    ecron: (args, options) => runCli([...args, '--server', server, '--token', h!.admin], options),
  };
}
