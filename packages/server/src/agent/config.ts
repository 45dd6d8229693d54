/**
 * The configuration of `ecron agent`: a YAML or JSON file, a few flags over it, and two
 * environment variables under it. Compiled once into a frozen `AgentConfig`; anything wrong is an
 * `AgentConfigError` (code AGENT_CONFIG_INVALID) that names every bad field by its path.
 *
 * Precedence, highest first: flags (`--server --token --group --id --listen`), the file, the
 * environment (`ECRON_SERVER`, `ECRON_TOKEN`), defaults.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { ExecutorHeartbeatSchema, ExecutorNodeIdSchema, duration, type FieldIssue, formatPath, toFieldIssues } from '@ecron/contracts';
import { parseEngineConfig, type EngineConfig } from '../containers/engines.ts';
import { Allowlist, parseAllowlistEntry } from './allowlist.ts';
import { dangerousWildcard } from './dangerous-programs.ts';

export const AGENT_CONFIG_INVALID = 'AGENT_CONFIG_INVALID';

/** Where the agent's server is when neither the config, a flag nor ECRON_SERVER says. */
export const DEFAULT_AGENT_SERVER = 'http://127.0.0.1:7070';
/** @default 5000: long enough for a script's cleanup trap, short enough for a deadline. */
export const DEFAULT_KILL_GRACE_MS = 5000;
/** @default 16: commands of one agent that run at once; more wait for a slot. */
export const DEFAULT_MAX_CONCURRENCY = 16;

/** A bad agent configuration. `issues` has one entry per bad field, named by its path. */
export class AgentConfigError extends Error {
  readonly code = AGENT_CONFIG_INVALID;
  /** The config file, when the error is about one. */
  readonly file: string | undefined;
  readonly issues: readonly FieldIssue[];

  constructor(file: string | undefined, issues: readonly FieldIssue[]) {
    const where = file ? `${file}: ` : '';
    super(`${AGENT_CONFIG_INVALID}: ${where}${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ')}`);
    this.name = 'AgentConfigError';
    this.file = file;
    this.issues = issues;
  }
}

const httpUrl = z.string().regex(/^https?:\/\/[^\s/]+[^\s]*$/, 'expected an http:// or https:// URL');
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The issue code of an allowlist entry refused because its `*` reaches dangerous options (see dangerous-programs.ts). */
export const DANGEROUS_ALLOWLIST_ENTRY = 'DANGEROUS_ALLOWLIST_ENTRY';

const AllowEntryObjectSchema = z.strictObject({
  command: z.string(),
  /** Accepts an entry whose final `*` reaches options that run commands or write files. @default false */
  allowDangerous: z.boolean().optional(),
});
const isEntryShape = (value: unknown): boolean => typeof value === 'string' || (typeof value === 'object' && value !== null && !Array.isArray(value));

/** An allowlist entry: a command line, or `{ command, allowDangerous }`; both become the object form. */
const AllowEntrySchema = z.custom<unknown>(isEntryShape, { error: 'expected a command line, or { command, allowDangerous: true }', params: { ecronCode: 'INVALID_TYPE' } })
  .transform((value, ctx) => {
    if (typeof value === 'string') return { command: value, allowDangerous: false };
    const parsed = AllowEntryObjectSchema.safeParse(value);
    if (parsed.success) return { command: parsed.data.command, allowDangerous: parsed.data.allowDangerous === true };
    for (const issue of parsed.error.issues) ctx.addIssue(issue as Parameters<typeof ctx.addIssue>[0]);
    return z.NEVER;
  });

/** The file's fields, as written (before flags, environment and defaults). */
const AgentFileSchema = z.strictObject({
  /** The ecron server's base URL. @default ECRON_SERVER, else http://127.0.0.1:7070 */
  server: httpUrl.optional(),
  /** API token the agent registers with. @default ECRON_TOKEN. Never printed. */
  token: z.string().min(1, 'must not be empty').optional(),
  /** The executor group this agent serves (the `group` of shell targets). Required. */
  group: ExecutorHeartbeatSchema.shape.group.optional(),
  /** The namespace of the group: the agent runs that namespace's shell tasks, and its token must cover it. @default default */
  namespace: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'must be 1-128 characters: letters, digits, ".", "_" or "-", starting with a letter or digit').optional(),
  /** The node's id. @default chosen by the SDK (host name based) */
  id: ExecutorNodeIdSchema.optional(),
  labels: ExecutorHeartbeatSchema.shape.labels.optional(),
  weight: ExecutorHeartbeatSchema.shape.weight.optional(),
  /** Where the agent listens for runs in push mode. @default chosen by the SDK */
  listen: z.strictObject({
    host: z.string().min(1).optional(),
    port: z.number().int().min(0).max(65535).optional(),
  }).optional(),
  /** The URL the server sends runs to, when it differs from the listen address (NAT, proxy). */
  advertiseUrl: httpUrl.optional(),
  /**
   * push: the server sends runs; pull: the agent long-polls (only it can open connections);
   * stream: the agent holds a WebSocket to each scheduler node (only it opens connections, and
   * runs arrive as they are due, many to a frame).
   */
  mode: z.enum(['push', 'pull', 'stream']).optional(),
  maxConcurrency: z.number().int().min(1).max(10_000).optional(),
  /** How long a stopping agent lets its runs finish before aborting them. @default the SDK's */
  shutdownGraceMs: duration({ max: 3_600_000 }).optional(),
  /** The commands' working directory; relative to the config file. @default the agent's cwd */
  workingDir: z.string().min(1).optional(),
  /** Extra environment variables of the commands. Numbers and booleans are written as strings. */
  env: z.record(z.string().regex(ENV_NAME, 'environment variable names are letters, digits and "_", not starting with a digit'),
    z.union([z.string(), z.number(), z.boolean()], { error: 'expected a string, number or boolean' }).transform(String)).optional(),
  /** SIGTERM → SIGKILL delay when a run is aborted. @default 5000 */
  killGraceMs: duration({ max: 3_600_000 }).optional(),
  /**
   * The command lines this agent may run (see allowlist.ts). An entry whose final `*` lets the
   * server add arguments to a program such as find, tar or sh is refused unless it is written
   * `{ command, allowDangerous: true }` (dangerous-programs.ts). @default none: nothing runs
   */
  allow: z.array(AllowEntrySchema).max(10_000).optional(),
  /**
   * Container targets with this agent's group: the engines it runs them on (name → Docker Engine
   * API address: unix:///run/podman/podman.sock, tcp://…, https://…), and the images it may run
   * (patterns as a namespace's `containerImages`: `*` within a path segment, `**` across).
   * @default no engine: container runs sent here fail; images: none
   */
  containers: z.strictObject({
    engines: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'an engine name: letters, digits, ".", "_" or "-"'), z.string().min(1)).optional(),
    images: z.array(z.string().min(1).max(512)).max(10_000).optional(),
  }).optional(),
});

/** What flags may set over the file. */
export interface AgentFlags {
  server?: string;
  token?: string;
  group?: string;
  id?: string;
  /** `host:port`, `[v6]:port` or `:port`. */
  listen?: string;
  /** `NAME=ADDRESS` or `ADDRESS` (the `default` engine), over the file's `containers.engines`. */
  containerEngines?: string[];
}

/** The compiled configuration of an agent. */
export interface AgentConfig {
  readonly server: string;
  readonly token: string;
  readonly group: string;
  readonly namespace: string;
  readonly id?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly weight: number;
  readonly listen?: { readonly host?: string; readonly port?: number };
  readonly advertiseUrl?: string;
  readonly mode: 'push' | 'pull' | 'stream';
  readonly maxConcurrency: number;
  readonly shutdownGraceMs?: number;
  readonly workingDir: string;
  readonly env: Readonly<Record<string, string>>;
  readonly killGraceMs: number;
  readonly allowlist: Allowlist;
  /** Container engines and the images allowed on them (container targets with this group). */
  readonly containers: { readonly engines: readonly EngineConfig[]; readonly images: readonly string[] };
  /** What the operator should know but that does not stop the agent: each allowDangerous entry, named with its risk. */
  readonly warnings: readonly string[];
}

export interface ResolveAgentConfigOptions {
  flags?: AgentFlags;
  /** The environment (ECRON_SERVER, ECRON_TOKEN); passed in, never read here. */
  env?: Record<string, string | undefined>;
  /** The config file's name, for messages. */
  file?: string;
  /** What a relative workingDir is relative to. */
  baseDir: string;
  /** The agent's own working directory: the commands' default. */
  cwd: string;
}

/** Parses a `--listen` value into host and port. */
function parseListen(value: string): { host?: string; port: number } | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(value.trim());
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port > 65535) return undefined;
  const host = match[1] ?? match[2];
  return host ? { host, port } : { port };
}

/** The flags' values laid over the file's, noting which paths came from a flag. */
function applyFlags(raw: unknown, flags: AgentFlags, issues: FieldIssue[]): { merged: unknown; fromFlag: Map<string, string> } {
  const fromFlag = new Map<string, string>();
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { merged: raw, fromFlag };
  const merged: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
  for (const key of ['server', 'token', 'group', 'id'] as const) {
    if (flags[key] === undefined) continue;
    merged[key] = flags[key];
    fromFlag.set(key, `--${key}`);
  }
  if (flags.listen !== undefined) {
    const listen = parseListen(flags.listen);
    if (!listen) issues.push({ path: 'listen (--listen)', code: 'INVALID_FORMAT', message: 'expected host:port, [ipv6]:port or :port, with a port 0-65535' });
    else {
      merged.listen = { ...(typeof merged.listen === 'object' && merged.listen !== null ? merged.listen : {}), ...listen };
      fromFlag.set('listen', '--listen');
    }
  }
  return { merged, fromFlag };
}

/** Compiles a parsed config file (any value) with flags, environment and defaults. */
export function resolveAgentConfig(raw: unknown, options: ResolveAgentConfigOptions): AgentConfig {
  const env = options.env ?? {};
  const issues: FieldIssue[] = [];
  const { merged, fromFlag } = applyFlags(raw ?? {}, options.flags ?? {}, issues);
  const parsed = AgentFileSchema.safeParse(merged);
  if (!parsed.success) {
    for (const issue of toFieldIssues(parsed.error)) {
      const flag = fromFlag.get(issue.path.split(/[.[]/)[0] ?? '');
      issues.push(flag ? { ...issue, path: `${issue.path} (${flag})` } : issue);
    }
  }
  const file = parsed.success ? parsed.data : undefined;
  const given = (key: string): boolean => typeof merged === 'object' && merged !== null && (merged as Record<string, unknown>)[key] !== undefined;
  const server = file?.server ?? env.ECRON_SERVER ?? DEFAULT_AGENT_SERVER;
  if (!given('server') && !httpUrl.safeParse(server).success) {
    issues.push({ path: 'server (ECRON_SERVER)', code: 'INVALID_FORMAT', message: 'expected an http:// or https:// URL' });
  }
  const token = file?.token ?? env.ECRON_TOKEN;
  if (!given('token') && !env.ECRON_TOKEN) issues.push({ path: 'token', code: 'REQUIRED', message: 'is required: set it in the config file, in ECRON_TOKEN, or with --token' });
  if (!given('group')) issues.push({ path: 'group', code: 'REQUIRED', message: 'is required: the executor group whose shell tasks this agent runs (or --group)' });

  // The allowlist and the working directory are checked even when other fields are bad, so that
  // one run of the agent reports every problem.
  const rawValue = (key: string): unknown => (typeof merged === 'object' && merged !== null ? (merged as Record<string, unknown>)[key] : undefined);
  const rawAllow = rawValue('allow');
  const warnings = checkAllowlist(Array.isArray(rawAllow) ? rawAllow : [], issues);

  const rawDir = rawValue('workingDir');
  const workingDir = typeof rawDir === 'string' && rawDir !== '' ? resolve(options.baseDir, rawDir) : options.cwd;
  if (typeof rawDir === 'string' && rawDir !== '') {
    let isDirectory = false;
    try {
      isDirectory = statSync(workingDir).isDirectory();
    } catch {
      // reported below
    }
    if (!isDirectory) issues.push({ path: 'workingDir', code: 'INVALID_VALUE', message: `${workingDir} is not an existing directory` });
  }

  const engines = containerEngines(file?.containers?.engines ?? {}, options.flags?.containerEngines ?? [], issues);

  if (issues.length > 0 || !file) throw new AgentConfigError(options.file, issues);
  return Object.freeze({
    server: server.replace(/\/+$/, ''),
    token: token!,
    group: file.group!,
    namespace: file.namespace ?? 'default',
    ...(file.id === undefined ? {} : { id: file.id }),
    labels: Object.freeze({ ...file.labels }),
    weight: file.weight ?? 1,
    ...(file.listen === undefined ? {} : { listen: Object.freeze({ ...file.listen }) }),
    ...(file.advertiseUrl === undefined ? {} : { advertiseUrl: file.advertiseUrl }),
    mode: file.mode ?? 'push',
    maxConcurrency: file.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY,
    ...(file.shutdownGraceMs === undefined ? {} : { shutdownGraceMs: file.shutdownGraceMs }),
    workingDir,
    env: Object.freeze({ ...file.env }),
    killGraceMs: file.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
    allowlist: new Allowlist((file.allow ?? []).map((entry) => entry.command)),
    containers: Object.freeze({ engines: Object.freeze(engines), images: Object.freeze([...file.containers?.images ?? []]) }),
    warnings: Object.freeze(warnings),
  });
}

/** The file's engines with the flags' over them, each address checked. */
function containerEngines(fromFile: Record<string, string>, fromFlags: readonly string[], issues: FieldIssue[]): EngineConfig[] {
  const byName = new Map<string, EngineConfig>();
  for (const [name, address] of Object.entries(fromFile)) {
    try {
      byName.set(name, parseEngineConfig(`${name}=${address}`, `containers.engines.${name}`));
    } catch (error) {
      issues.push({ path: `containers.engines.${name}`, code: 'INVALID_VALUE', message: (error as Error).message });
    }
  }
  for (const text of fromFlags) {
    try {
      const engine = parseEngineConfig(text);
      byName.set(engine.name, engine);
    } catch (error) {
      issues.push({ path: 'containers.engines (--container-engine)', code: 'INVALID_VALUE', message: (error as Error).message });
    }
  }
  return [...byName.values()];
}

/**
 * Checks each allowlist entry as written (a string, or an object with a string `command`; the
 * schema reports any other shape): one that cannot be compiled is INVALID_VALUE, and one whose
 * final `*` reaches dangerous options is DANGEROUS_ALLOWLIST_ENTRY unless it says
 * `allowDangerous: true`, in which case it is returned as a warning.
 */
function checkAllowlist(entries: readonly unknown[], issues: FieldIssue[]): string[] {
  const warnings: string[] = [];
  entries.forEach((raw, i) => {
    const object = typeof raw === 'object' && raw !== null ? (raw as { command?: unknown; allowDangerous?: unknown }) : undefined;
    const command = object ? object.command : raw;
    if (typeof command !== 'string') return;
    const path = formatPath(object ? ['allow', i, 'command'] : ['allow', i]);
    let danger: string | undefined;
    try {
      danger = dangerousWildcard(parseAllowlistEntry(command));
    } catch (error) {
      issues.push({ path, code: 'INVALID_VALUE', message: `${JSON.stringify(command)} ${(error as Error).message}` });
      return;
    }
    if (danger === undefined) return;
    if (object?.allowDangerous === true) {
      warnings.push(`${path}: ${JSON.stringify(command)} is allowed with allowDangerous: true, although ${danger}`);
      return;
    }
    issues.push({
      path, code: DANGEROUS_ALLOWLIST_ENTRY,
      message: `${JSON.stringify(command)} is refused: ${danger}. Allow the exact command lines instead, `
        + `or write { command: ${JSON.stringify(command)}, allowDangerous: true } to accept the risk`,
    });
  });
  return warnings;
}

/** Reads a YAML or JSON config file into a plain value; a file that cannot be read or parsed is an AgentConfigError. */
export function readAgentConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new AgentConfigError(file, [{ path: '', code: 'FILE_UNREADABLE', message: `cannot read the file: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` }]);
  }
  // YAML 1.2 is a superset of JSON: one parser reads both.
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter });
  if (document.errors.length > 0) {
    throw new AgentConfigError(file, document.errors.map((error) => {
      const at = lineCounter.linePos(error.pos[0]);
      return { path: '', code: 'SYNTAX_ERROR', message: `${at ? `line ${at.line}, column ${at.col}: ` : ''}${error.message.split('\n')[0]}` };
    }));
  }
  const value: unknown = document.toJS();
  if (value !== null && value !== undefined && (typeof value !== 'object' || Array.isArray(value))) {
    throw new AgentConfigError(file, [{ path: '', code: 'INVALID_TYPE', message: 'expected a mapping of settings (group, allow, …)' }]);
  }
  return value ?? {};
}

/** Reads and compiles the config file `file` (relative to `cwd`) with flags over it. */
export function loadAgentConfig(file: string, options: { flags?: AgentFlags; env?: Record<string, string | undefined>; cwd: string }): AgentConfig {
  const path = resolve(options.cwd, file);
  const raw = readAgentConfigFile(path);
  return resolveAgentConfig(raw, { flags: options.flags, env: options.env, file, baseDir: dirname(path), cwd: options.cwd });
}
