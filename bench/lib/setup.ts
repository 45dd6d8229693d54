/** What every scenario does first and last: an executor, a server, an API client; then teardown. */
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { EcronApi, ExecutorClient } from './api.ts';
import { serverBin, startBenchExecutor, startEcronServer, type ExecutorHandle, type ServerHandle } from './processes.ts';
import { progress } from './table.ts';

export interface CommonFlags {
  quick: boolean;
  /** Profile the server with `node --cpu-prof`; the .cpuprofile lands in this directory. */
  cpuProfDir?: string;
  keepDataDir: boolean;
}

export const COMMON_OPTIONS = {
  quick: { type: 'boolean', default: false },
  'cpu-prof': { type: 'boolean', default: false },
  'cpu-prof-dir': { type: 'string' },
  'keep-data-dir': { type: 'boolean', default: false },
} as const;

export function commonFlags(values: { quick?: boolean; 'cpu-prof'?: boolean; 'cpu-prof-dir'?: string; 'keep-data-dir'?: boolean }): CommonFlags {
  const cpuProfDir = values['cpu-prof-dir'] ?? (values['cpu-prof'] ? join(tmpdir(), 'ecron-bench-profiles') : undefined);
  if (cpuProfDir) mkdirSync(cpuProfDir, { recursive: true });
  return { quick: values.quick ?? false, cpuProfDir, keepDataDir: values['keep-data-dir'] ?? false };
}

export interface Rig {
  server: ServerHandle;
  api: EcronApi;
  executor: ExecutorHandle;
  received: ExecutorClient;
}

export async function startServer(flags: CommonFlags): Promise<ServerHandle> {
  const nodeArgs = flags.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${flags.cpuProfDir}`] : [];
  const server = await startEcronServer({ nodeArgs, keepDataDir: flags.keepDataDir });
  progress(`server ${serverBin()} up at ${server.url} (data dir ${server.dataDir}${flags.cpuProfDir ? `, profiling into ${flags.cpuProfDir}` : ''})`);
  return server;
}

export async function startExecutor(): Promise<{ executor: ExecutorHandle; received: ExecutorClient }> {
  const executor = await startBenchExecutor();
  progress(`executor up at ${executor.url} (separate process, signatures not verified)`);
  return { executor, received: new ExecutorClient(executor.url) };
}

export async function startRig(flags: CommonFlags): Promise<Rig> {
  const { executor, received } = await startExecutor();
  const server = await startServer(flags);
  return { server, executor, received, api: new EcronApi(server.url, server.token) };
}

export async function stopRig(rig: Rig): Promise<void> {
  await rig.api.close().catch(() => {});
  await rig.server.stop();
  await rig.executor.stop();
}
