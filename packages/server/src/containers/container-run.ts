/**
 * One attempt of a container target on a Docker Engine API (Docker or Podman), the same on the
 * server and on an `ecron agent`:
 *
 * 1. the image is made present per `pull` (`never`: it must be there; `if-missing`; `always`);
 * 2. a container is created, named `ecron-<run>-<attempt>` and labelled with the run, the attempt
 *    and the installation (so that a restarted scheduler finds it, and the sweep removes what no
 *    run owns), with the run's identity in its environment (`ECRON_PARAMS`, `ECRON_RUN_ID`,
 *    `ECRON_SHARD_INDEX`…, `TRACEPARENT`);
 * 3. its stdout and stderr are attached before it starts, split into lines for the run's log
 *    (stdout at info, stderr at warn);
 * 4. its exit code decides the outcome (0 succeeds); the container is removed once it exited.
 *
 * An abort of the signal only stops waiting: whoever aborts (cancel, deadline) stops the container
 * with {@link stopContainers}; a scheduler that shuts down leaves it running for the next owner of
 * the run, who asks the engine about it ({@link inspectAttempt}).
 */
import { PassThrough } from 'node:stream';
import type { ContainerTarget, RunRequest } from '@ecron/contracts';
import type Docker from 'dockerode';
import { LineSplitter } from '../agent/line-splitter.ts';
import { runVariables } from '../core/run-variables.ts';

export const LABEL_RUN = 'io.ecron.run';
export const LABEL_ATTEMPT = 'io.ecron.attempt';
export const LABEL_TASK = 'io.ecron.task';
export const LABEL_NAMESPACE = 'io.ecron.namespace';
/** The installation that created the container (a hash of its callback key): the sweep leaves others' alone. */
export const LABEL_OWNER = 'io.ecron.owner';

export type LogLevel = 'info' | 'warn' | 'error';
/** What running a container needs of its target (a target's group and routing only route it to an agent). */
export type ContainerSpec = Omit<ContainerTarget, 'group' | 'routing'>;
export type ContainerLog = (level: LogLevel, message: string) => void;

export interface ContainerRunOptions {
  docker: Docker;
  target: ContainerSpec;
  request: RunRequest;
  owner: string;
  log: ContainerLog;
  signal: AbortSignal;
  /** The container started (its id). */
  onStarted?: (id: string) => void;
}

export type ContainerOutcome = { kind: 'exited'; exitCode: number; oomKilled: boolean } | { kind: 'aborted' };

/** A Docker Engine API error's status code (404: no such container or image). */
function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number }).statusCode;
}

/** The engine's message of an error, without dockerode's "(HTTP code 404) no such image -" prefix noise. */
export function engineMessage(error: unknown): string {
  const e = error as { json?: { message?: string }; message?: string };
  return e.json?.message ?? e.message ?? String(error);
}

export function containerName(runId: string, attempt: number): string {
  return `ecron-${runId}-${attempt}`.replace(/[^a-zA-Z0-9_.-]/g, '-');
}

/** Makes the target's image present per its pull policy. Throws IMAGE_NOT_FOUND / IMAGE_PULL_FAILED. */
export async function ensureImage(docker: Docker, target: ContainerSpec, log: ContainerLog): Promise<void> {
  if (target.pull !== 'always') {
    try {
      await docker.getImage(target.image).inspect();
      return;
    } catch (error) {
      if (statusOf(error) !== 404) throw new Error(`CONTAINER_ENGINE_FAILED: inspecting image ${target.image}: ${engineMessage(error)}`, { cause: error });
      if (target.pull === 'never') throw new Error(`IMAGE_NOT_FOUND: image ${target.image} is not on the engine, and the target's pull policy is "never"`, { cause: error });
    }
  }
  log('info', `pulling image ${target.image}`);
  try {
    const stream = await docker.pull(target.image);
    await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (error) => (error ? reject(error) : resolve())));
  } catch (error) {
    throw new Error(`IMAGE_PULL_FAILED: pulling ${target.image}: ${engineMessage(error)}`, { cause: error });
  }
}

/** The container's environment: the target's variables, then the run's (which a spec may not set). */
export function containerEnv(target: ContainerSpec, request: RunRequest, traceparent?: string): string[] {
  const env = { ...target.env, ...runVariables(request), ...(traceparent ? { TRACEPARENT: traceparent } : {}) };
  return Object.entries(env).map(([name, value]) => `${name}=${value}`);
}

/** Docker's create body for an attempt. */
export function createBody(target: ContainerSpec, request: RunRequest, owner: string): Docker.ContainerCreateOptions {
  const resources = target.resources ?? {};
  return {
    name: containerName(request.runId, request.attempt),
    Image: target.image,
    ...(target.command ? { Entrypoint: target.command } : {}),
    ...(target.args ? { Cmd: target.args } : {}),
    ...(target.workingDir ? { WorkingDir: target.workingDir } : {}),
    Env: containerEnv(target, request, request.traceparent),
    Labels: {
      [LABEL_RUN]: request.runId,
      [LABEL_ATTEMPT]: String(request.attempt),
      [LABEL_TASK]: request.taskId,
      [LABEL_NAMESPACE]: request.namespace,
      [LABEL_OWNER]: owner,
    },
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    HostConfig: {
      ...(resources.cpus ? { NanoCpus: Math.round(resources.cpus * 1e9) } : {}),
      ...(resources.memoryMb ? { Memory: resources.memoryMb * 1024 * 1024 } : {}),
    },
  };
}

/** Splits a container's multiplexed output into log lines: stdout at info, stderr at warn. */
export function attachLines(docker: Docker, stream: NodeJS.ReadableStream, log: ContainerLog): Promise<void> {
  const out = new PassThrough();
  const err = new PassThrough();
  const outLines = new LineSplitter((line) => log('info', line));
  const errLines = new LineSplitter((line) => log('warn', line));
  out.on('data', (chunk: Buffer) => outLines.push(chunk));
  err.on('data', (chunk: Buffer) => errLines.push(chunk));
  docker.modem.demuxStream(stream, out, err);
  return new Promise((resolve) => {
    const done = () => {
      outLines.end();
      errLines.end();
      resolve();
    };
    stream.once('end', done);
    stream.once('close', done);
    stream.once('error', done);
  });
}

/** Runs one attempt to its exit (or until `signal` aborts). Throws on engine errors (the attempt fails with the message). */
export async function runContainer(o: ContainerRunOptions): Promise<ContainerOutcome> {
  const { docker, target, request, log, signal } = o;
  await ensureImage(docker, target, log);
  if (signal.aborted) return { kind: 'aborted' };
  let container: Docker.Container;
  try {
    container = await docker.createContainer(createBody(target, request, o.owner));
  } catch (error) {
    throw new Error(`CONTAINER_CREATE_FAILED: ${engineMessage(error)}`, { cause: error });
  }
  const stream = await container.attach({ stream: true, stdout: true, stderr: true });
  const output = attachLines(docker, stream, log);
  try {
    await container.start();
  } catch (error) {
    await container.remove({ force: true }).catch(() => {});
    throw new Error(`CONTAINER_START_FAILED: ${engineMessage(error)}`, { cause: error });
  }
  o.onStarted?.(container.id);
  log('info', `container ${container.id.slice(0, 12)} started from ${target.image}`);
  const aborted = new Promise<'aborted'>((resolve) => {
    if (signal.aborted) resolve('aborted');
    signal.addEventListener('abort', () => resolve('aborted'), { once: true });
  });
  const exited = await Promise.race([container.wait() as Promise<{ StatusCode: number }>, aborted]);
  if (exited === 'aborted') {
    (stream as unknown as { destroy?: () => void }).destroy?.();
    return { kind: 'aborted' };
  }
  // The output ends with the container; give it a moment in case the engine closes it late.
  await Promise.race([output, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
  const state = await container.inspect().then((info) => info.State).catch(() => null);
  await container.remove({ force: true }).catch(() => {});
  return { kind: 'exited', exitCode: exited.StatusCode, oomKilled: state?.OOMKilled === true };
}

/** What an exit comes to: `exit code N`, with the out-of-memory kill named. */
export function exitError(outcome: { exitCode: number; oomKilled: boolean }, target: ContainerSpec): string {
  const oom = outcome.oomKilled ? ` (killed: out of memory, limit ${target.resources?.memoryMb ?? '?'} MB)` : '';
  return `exit code ${outcome.exitCode}${oom}`;
}

/** The containers of a run (every attempt, or one), on one engine. */
export async function containersOf(docker: Docker, runId: string, attempt?: number): Promise<Docker.ContainerInfo[]> {
  const label = [`${LABEL_RUN}=${runId}`, ...(attempt === undefined ? [] : [`${LABEL_ATTEMPT}=${attempt}`])];
  return docker.listContainers({ all: true, filters: { label } });
}

/** Stops (SIGTERM, then SIGKILL after `graceMs`) and removes containers; a container already gone is fine. */
export async function stopContainers(docker: Docker, ids: readonly string[], graceMs: number): Promise<void> {
  await Promise.all(ids.map(async (id) => {
    const container = docker.getContainer(id);
    await container.stop({ t: Math.max(0, Math.ceil(graceMs / 1000)) }).catch((error: unknown) => {
      if (statusOf(error) !== 304 && statusOf(error) !== 404) throw error;
    });
    await container.remove({ force: true }).catch((error: unknown) => {
      if (statusOf(error) !== 404 && statusOf(error) !== 409) throw error;
    });
  }));
}

export type AttemptState =
  | { state: 'none' }
  | { state: 'created'; id: string }
  | { state: 'running'; id: string }
  | { state: 'exited'; id: string; exitCode: number; oomKilled: boolean };

/** What the engine knows of an attempt's container (a restarted scheduler asks). */
export async function inspectAttempt(docker: Docker, runId: string, attempt: number): Promise<AttemptState> {
  const [info] = await containersOf(docker, runId, attempt);
  if (!info) return { state: 'none' };
  if (info.State === 'created') return { state: 'created', id: info.Id };
  if (info.State === 'exited' || info.State === 'dead') {
    const detail = await docker.getContainer(info.Id).inspect();
    return { state: 'exited', id: info.Id, exitCode: detail.State.ExitCode, oomKilled: detail.State.OOMKilled };
  }
  return { state: 'running', id: info.Id };
}
