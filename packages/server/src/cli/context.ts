import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ApiClient } from './api-client.ts';
import { CliError } from './cli-error.ts';
import type { Output } from './output.ts';

export const DEFAULT_SERVER = 'http://127.0.0.1:7070';

/** Everything the CLI touches outside itself, so that `run()` can be driven by tests. */
export interface CliIo extends Output {
  env: Record<string, string | undefined>;
  cwd: string;
  /** Reads all of standard input (for `-f -`). */
  readStdin: () => Promise<string>;
  /** True when standard input is a terminal (a confirmation can be asked). */
  stdinIsTty: boolean;
  /** True when standard error is a terminal: progress is then redrawn on one line, not printed line by line. */
  stderrIsTty?: boolean;
  /** Asks a question on the terminal and returns the answer. */
  prompt: (question: string) => Promise<string>;
  /** Waits; injected so that tests of polling need not sleep. */
  sleep: (ms: number) => Promise<void>;
}

/** The options every command has. */
export interface GlobalOptions {
  server?: string;
  token?: string;
  json?: boolean;
}

/** Where the token came from, for the hint shown when the server refuses it. */
export type TokenSource = 'flag' | 'env' | 'file' | 'none';

export interface Session {
  io: CliIo;
  api: ApiClient;
  json: boolean;
  tokenSource: TokenSource;
  tokenFile?: string;
}

/** The admin token files the CLI looks at when no token is given, in order. */
export function adminTokenFiles(io: Pick<CliIo, 'env' | 'cwd'>): string[] {
  const files: string[] = [];
  const dataDir = io.env.ECRON_DATA_DIR;
  if (dataDir) files.push(resolve(io.cwd, dataDir, 'admin.token'));
  files.push(join(io.cwd, '.ecron', 'admin.token'));
  return [...new Set(files)];
}

function findToken(options: GlobalOptions, io: CliIo): { token?: string; source: TokenSource; file?: string } {
  if (options.token !== undefined && options.token !== '') return { token: options.token, source: 'flag' };
  const fromEnv = io.env.ECRON_TOKEN;
  if (fromEnv) return { token: fromEnv, source: 'env' };
  for (const file of adminTokenFiles(io)) {
    if (!existsSync(file)) continue;
    let token: string;
    try {
      token = readFileSync(file, 'utf8').trim();
    } catch (error) {
      throw new CliError('CONFIG_INVALID', `cannot read the token file ${file}: ${(error as Error).message}`);
    }
    if (token) return { token, source: 'file', file };
  }
  return { source: 'none' };
}

/** Builds the API session of a command from the global options (`--server`, `--token`, `--json`). */
export function openSession(command: Command, io: CliIo): Session {
  const options = command.optsWithGlobals<GlobalOptions>();
  const server = options.server || io.env.ECRON_SERVER || DEFAULT_SERVER;
  const found = findToken(options, io);
  const api = new ApiClient({ server, token: found.token, userAgent: 'ecron-cli' });
  const session: Session = { io, api, json: options.json === true, tokenSource: found.source };
  if (found.file) session.tokenFile = found.file;
  return session;
}

/** Failures a wrong or missing token causes (the second after many of the first from one address). */
const AUTH_FAILURE_CODES = new Set(['UNAUTHENTICATED', 'TOO_MANY_FAILED_AUTHENTICATIONS']);

/** Adds a hint to an authentication failure that says where the token came from. */
export function explainAuthError(error: unknown, session: Session | undefined): unknown {
  if (!(error instanceof CliError) || !AUTH_FAILURE_CODES.has(error.code) || !session) return error;
  const hint = session.tokenSource === 'none'
    ? 'no token was given: pass --token, set ECRON_TOKEN, or run where .ecron/admin.token is (or set ECRON_DATA_DIR)'
    : session.tokenSource === 'file' ? `the token came from ${session.tokenFile}`
      : session.tokenSource === 'env' ? 'the token came from ECRON_TOKEN' : 'the token came from --token';
  return new CliError(error.code, `${error.message} (${hint})`, { details: error.details, cause: error });
}
