/**
 * The {@link RunTransport} of `container` targets run on the server's own engines
 * (`ecron start --container-engine NAME=ADDRESS`): each attempt is a new container
 * (containers/container-run.ts), its output in the run's log, its exit code the outcome.
 *
 * - **Cancel and deadline** stop the attempt's container (SIGTERM, SIGKILL after `stopGraceMs`)
 *   and remove it.
 * - **Recovery** (`ask`): a scheduler that takes over a run in flight asks the engine. A running
 *   container is adopted (its output followed from then on, its end read when it exits); an
 *   exited one gives the outcome by its exit code; none (never created) sends the attempt again.
 * - **The sweep** ({@link ContainerSweep}) removes the containers of this installation whose
 *   attempt is no longer in flight (ended, lost, superseded), so that none leaks after a crash.
 */
import { isFinalRunStatus, type ContainerTarget } from '@ecron/contracts';
import type Docker from 'dockerode';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { imageAllowed, imageRefusal } from '../core/container-images.ts';
import type { RunRecord } from '../core/model.ts';
import type { ContainerEngines } from '../containers/engines.ts';
import {
  attachLines, exitError, inspectAttempt, LABEL_ATTEMPT, LABEL_OWNER, LABEL_RUN, runContainer, stopContainers, type LogLevel,
} from '../containers/container-run.ts';
import type { Store } from '../store/store.ts';
import type { ExecutorResult } from './executor-dispatch.ts';
import type { RunTransport, StatusAnswer } from './run-transport.ts';

type Log = (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

export interface ContainerTransportDeps {
  engines: ContainerEngines;
  /** This installation's mark on its containers (LABEL_OWNER). */
  owner: string;
  store: Pick<Store, 'getNamespace' | 'appendRunLogs' | 'getRun'>;
  clock: Clock;
  /** Between SIGTERM and SIGKILL when a container is stopped. @default 10000 */
  stopGraceMs?: number;
  log: Log;
}

/** Lines of one attempt's log, written in batches (one insert per batch). */
class AttemptLog {
  #lines: { level: LogLevel; message: string; at: number }[] = [];
  #timer: TimerHandle | null = null;
  #writing: Promise<void> = Promise.resolve();
  readonly deps: ContainerTransportDeps;
  readonly run: Pick<RunRecord, 'id' | 'attempt'>;

  constructor(deps: ContainerTransportDeps, run: Pick<RunRecord, 'id' | 'attempt'>) {
    this.deps = deps;
    this.run = run;
  }

  readonly line = (level: LogLevel, message: string): void => {
    this.#lines.push({ level, message, at: this.deps.clock.now() });
    if (this.#lines.length >= 500) void this.flush();
    else this.#timer ??= this.deps.clock.setTimer(() => void this.flush(), 100);
  };

  flush(): Promise<void> {
    if (this.#timer) this.deps.clock.clearTimer(this.#timer);
    this.#timer = null;
    const lines = this.#lines;
    this.#lines = [];
    if (lines.length > 0) {
      this.#writing = this.#writing.then(() => this.deps.store.appendRunLogs(lines.map((l) => ({ runId: this.run.id, attempt: this.run.attempt, ...l }))))
        .then(() => {}, (error) => this.deps.log('warn', 'writing a container\'s log lines failed', { runId: this.run.id, error: String(error) }));
    }
    return this.#writing;
  }
}

export function containerRunTransport(deps: ContainerTransportDeps): RunTransport {
  const graceMs = deps.stopGraceMs ?? 10_000;
  const target = (task: { spec: { target: unknown } }) => task.spec.target as ContainerTarget;
  /** Containers whose output this node follows after adopting them. */
  const following = new Set<string>();

  const follow = (docker: Docker, id: string, run: RunRecord) => {
    if (following.has(id)) return;
    following.add(id);
    const log = new AttemptLog(deps, run);
    void docker.getContainer(id).logs({ follow: true, stdout: true, stderr: true, since: Math.floor(deps.clock.now() / 1000) })
      .then((stream) => attachLines(docker, stream, log.line))
      .catch(() => {})
      .finally(() => {
        following.delete(id);
        void log.flush();
      });
  };

  return {
    recovery: 'ask',
    async send(attempt, signal): Promise<ExecutorResult> {
      const spec = target(attempt.task);
      const docker = deps.engines.get(spec.engine);
      if (!docker) return { kind: 'failed', error: deps.engines.missing(spec.engine) };
      const patterns = (await deps.store.getNamespace(attempt.task.namespace))?.quotas.containerImages;
      if (!imageAllowed(spec.image, patterns)) return { kind: 'failed', error: `IMAGE_NOT_ALLOWED: ${imageRefusal(attempt.task.namespace, spec.image, patterns ?? [])}` };
      const span = attempt.dispatch(attempt.request(), { transport: 'container', url: spec.engine ?? 'default' });
      const log = new AttemptLog(deps, attempt.run);
      let result: ExecutorResult;
      try {
        const outcome = await runContainer({
          docker, target: spec, request: span.request, owner: deps.owner, log: log.line, signal,
          onStarted: (id) => attempt.sent(`container:${id.slice(0, 12)}`),
        });
        if (outcome.kind === 'aborted') result = { kind: 'aborted' };
        else if (outcome.exitCode === 0) result = { kind: 'succeeded', output: { exitCode: 0 } };
        else result = { kind: 'failed', error: exitError(outcome, spec), output: { exitCode: outcome.exitCode } };
      } catch (error) {
        const message = (error as Error).message;
        log.line('error', message);
        result = { kind: 'failed', error: message };
      }
      await log.flush();
      span.end(result);
      return result;
    },
    cancel({ run, task }) {
      const docker = deps.engines.get(target(task).engine);
      if (!docker) return;
      void inspectAttempt(docker, run.id, run.attempt)
        .then((found) => (found.state === 'none' ? undefined : stopContainers(docker, [found.id], graceMs)))
        .catch((error) => deps.log('warn', 'stopping a run\'s container failed (the sweep removes it later)', { runId: run.id, error: String(error) }));
    },
    async status({ run, task }): Promise<StatusAnswer> {
      const docker = deps.engines.get(target(task).engine);
      if (!docker) return { status: 'no-answer' };
      try {
        const found = await inspectAttempt(docker, run.id, run.attempt);
        switch (found.state) {
          case 'none':
            return { status: 'unknown' };
          case 'created':
            // Created but never started (its scheduler died in between): start over.
            await stopContainers(docker, [found.id], 0);
            return { status: 'unknown' };
          case 'running':
            follow(docker, found.id, run);
            return { status: 'running' };
          case 'exited':
            await stopContainers(docker, [found.id], 0);
            return found.exitCode === 0
              ? { status: 'succeeded', output: { exitCode: 0 } }
              : { status: 'failed', error: exitError(found, target(task)), output: { exitCode: found.exitCode } };
        }
      } catch (error) {
        deps.log('warn', 'asking the container engine about a run failed', { runId: run.id, error: String(error) });
        return { status: 'no-answer' };
      }
    },
  };
}

/**
 * Removes this installation's containers whose attempt is not in flight any more (its run ended,
 * was lost, or moved to a later attempt), every `intervalMs` on every node: what a crash between
 * a container's exit and its removal, or a cancel whose stop failed, would leave. A container
 * younger than `minAgeMs` is left alone (its attempt may be being recorded).
 */
export class ContainerSweep {
  #timer: TimerHandle | null = null;
  #stopped = false;
  readonly o: ContainerTransportDeps & { intervalMs?: number; minAgeMs?: number };

  constructor(options: ContainerTransportDeps & { intervalMs?: number; minAgeMs?: number }) {
    this.o = options;
  }

  start(): void {
    this.#arm(0);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) this.o.clock.clearTimer(this.#timer);
  }

  /** One pass over every engine; the number of containers removed. */
  async sweep(): Promise<number> {
    let removed = 0;
    for (const { name, docker } of this.o.engines.all()) {
      const containers = await docker.listContainers({ all: true, filters: { label: [`${LABEL_OWNER}=${this.o.owner}`] } });
      const now = this.o.clock.now();
      for (const info of containers) {
        const runId = info.Labels[LABEL_RUN];
        const attempt = Number(info.Labels[LABEL_ATTEMPT]);
        if (!runId || now - info.Created * 1000 < (this.o.minAgeMs ?? 30_000)) continue;
        const run = await this.o.store.getRun(runId);
        if (run && !isFinalRunStatus(run.status) && run.attempt === attempt) continue;
        await stopContainers(docker, [info.Id], this.o.stopGraceMs ?? 10_000);
        removed += 1;
        this.o.log('info', 'removed a container whose attempt is no longer in flight', { engine: name, container: info.Id.slice(0, 12), runId, attempt, runStatus: run?.status ?? 'gone' });
      }
    }
    return removed;
  }

  #arm(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = this.o.clock.setTimer(() => {
      void this.sweep()
        .catch((error) => this.o.log('warn', 'sweeping leftover containers failed', { error: String(error) }))
        .finally(() => this.#arm(this.o.intervalMs ?? 60_000));
    }, delayMs);
  }
}
