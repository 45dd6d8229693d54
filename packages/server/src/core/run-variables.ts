/**
 * The environment variables that tell a process which run it serves: an agent's shell commands
 * and a container target's containers get the same ones.
 */
import type { RunRequest } from '@ecron/contracts';

export function runVariables(request: RunRequest): Record<string, string> {
  return {
    ECRON_RUN_ID: request.runId,
    ECRON_TASK_ID: request.taskId,
    ECRON_TASK: request.task,
    ECRON_NAMESPACE: request.namespace,
    ECRON_ATTEMPT: String(request.attempt),
    ECRON_SCHEDULED_AT: request.scheduledAt,
    ECRON_DEADLINE: request.deadline ?? '',
    ECRON_SHARD_INDEX: String(request.shard.index),
    ECRON_SHARD_TOTAL: String(request.shard.total),
    ECRON_PARAMS: JSON.stringify(request.params ?? {}),
  };
}
