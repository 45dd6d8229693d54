/**
 * The `container` handler of `ecron agent`: container targets with the agent's group run here, on
 * the agent's own engine (containers/container-run.ts, as on the server), so that containers run
 * on executor hosts.
 *
 * 1. The request's image must match the agent's `containers.images` (none by default): a refused
 *    image fails the run with `IMAGE_NOT_ALLOWED` and nothing is created.
 * 2. The engine is the target's `engine` (default `default`) among the agent's.
 * 3. Output goes to the run's log; exit code 0 succeeds with `{ exitCode: 0 }`, another fails the
 *    run with `exit code N`.
 * 4. An abort (cancel, deadline, shutdown, the scheduler's connection closed) stops and removes the
 *    container: the scheduler sends the attempt again elsewhere when it must.
 *
 * Containers carry the agent's mark (LABEL_OWNER `agent:<namespace>/<group>@<node>`): a restarted
 * agent removes its previous process's leftovers before it takes runs.
 */
import type { RunRequest } from '@ecron/contracts';
import { imageAllowed } from '../core/container-images.ts';
import { exitError, LABEL_OWNER, runContainer, stopContainers } from '../containers/container-run.ts';
import type { ContainerEngines } from '../containers/engines.ts';
import type { ShellRunContext } from './shell-handler.ts';

export interface ContainerHandlerOptions {
  engines: ContainerEngines;
  images: readonly string[];
  owner: string;
  stopGraceMs: number;
}

export type ContainerRunContext = Pick<ShellRunContext, 'runId' | 'attempt' | 'signal' | 'log' | 'request'>;

export function createContainerHandler(o: ContainerHandlerOptions): (ctx: ContainerRunContext) => Promise<{ exitCode: 0 }> {
  return async (ctx) => {
    const target = ctx.request.container;
    const fail = (message: string): never => {
      ctx.log(message, 'error');
      throw new Error(message);
    };
    if (!target) return fail('CONTAINER_MISSING: the run request carries no container (is the task\'s target of type container?)');
    if (!imageAllowed(target.image, o.images)) {
      return fail(`IMAGE_NOT_ALLOWED: ${JSON.stringify(target.image)} is not in this agent's containers.images (${o.images.map((i) => JSON.stringify(i)).join(', ') || 'none'})`);
    }
    const docker = o.engines.get(target.engine);
    if (!docker) return fail(o.engines.missing(target.engine, 'this agent'));
    let started: string | null = null;
    const stop = () => {
      if (started) void stopContainers(docker, [started], o.stopGraceMs).catch(() => {});
    };
    ctx.signal.addEventListener('abort', stop, { once: true });
    try {
      const request: RunRequest = { ...ctx.request, attempt: ctx.attempt };
      const outcome = await runContainer({
        docker, target, request, owner: o.owner, signal: ctx.signal,
        log: (level, message) => ctx.log(message, level),
        onStarted: (id) => {
          started = id;
          if (ctx.signal.aborted) stop();
        },
      });
      if (outcome.kind === 'aborted') throw new Error(`aborted (${String(ctx.signal.reason)})`);
      if (outcome.exitCode === 0) return { exitCode: 0 };
      throw new Error(exitError(outcome, target));
    } catch (error) {
      const message = (error as Error).message;
      if (!started) ctx.log(message, 'error');
      throw error;
    } finally {
      ctx.signal.removeEventListener('abort', stop);
    }
  };
}

/** Removes the containers a previous process of this agent left (before it takes runs). */
export async function removeLeftovers(o: ContainerHandlerOptions): Promise<number> {
  let removed = 0;
  for (const { docker } of o.engines.all()) {
    const leftovers = await docker.listContainers({ all: true, filters: { label: [`${LABEL_OWNER}=${o.owner}`] } });
    await stopContainers(docker, leftovers.map((c) => c.Id), 0);
    removed += leftovers.length;
  }
  return removed;
}
