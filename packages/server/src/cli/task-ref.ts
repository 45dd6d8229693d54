import type { Page, TaskResource } from '@ecron/contracts';
import type { ApiClient } from './api-client.ts';
import { CliError } from './cli-error.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The API path of a task. */
export function taskPath(id: string, suffix = ''): string {
  return `/api/v1/tasks/${encodeURIComponent(id)}${suffix}`;
}

async function findByName(api: ApiClient, name: string, namespace?: string): Promise<{ items: TaskResource[]; more: boolean }> {
  const page = await api.request<Page<TaskResource>>({ path: '/api/v1/tasks', query: { namespace, name, limit: 2 } });
  // The server matches `name` exactly; the filter below guards against a server that does not.
  const items = page.items.filter((task) => task.name === name && (namespace === undefined || task.namespace === namespace));
  return { items, more: page.nextCursor !== null && page.nextCursor !== undefined };
}

/**
 * Finds the task a REF names:
 * - a task id (a UUID) is fetched directly;
 * - `namespace/name` is looked up in that namespace;
 * - a bare `name` is looked up in every namespace the token sees; it must be unique there.
 * Throws TASK_NOT_FOUND when there is no such task, TASK_REF_AMBIGUOUS when a bare name is in
 * several namespaces.
 */
export async function resolveTask(api: ApiClient, ref: string): Promise<TaskResource> {
  const trimmed = ref.trim();
  if (trimmed === '') throw new CliError('USAGE', 'a task reference must not be empty', { exitCode: 2 });
  if (UUID.test(trimmed)) {
    try {
      return await api.request<TaskResource>({ path: taskPath(trimmed) });
    } catch (error) {
      if (!(error instanceof CliError) || (error.code !== 'TASK_NOT_FOUND' && error.code !== 'NOT_FOUND')) throw error;
    }
    // Not an id after all: a task may be named like one.
  }
  const slash = trimmed.indexOf('/');
  if (slash >= 0) {
    const namespace = trimmed.slice(0, slash);
    const name = trimmed.slice(slash + 1);
    if (!namespace || !name) throw new CliError('USAGE', `"${ref}" is not a task reference: use ID, NAME or NAMESPACE/NAME`, { exitCode: 2 });
    const [task] = (await findByName(api, name, namespace)).items;
    if (!task) throw new CliError('TASK_NOT_FOUND', `no task named "${name}" in namespace "${namespace}"`);
    return task;
  }
  const { items, more } = await findByName(api, trimmed);
  const [first, second] = items;
  if (!first) throw new CliError('TASK_NOT_FOUND', `no task with id or name "${trimmed}"`);
  if (second) {
    throw new CliError('TASK_REF_AMBIGUOUS', `a task named "${trimmed}" exists in several namespaces; use NAMESPACE/NAME`
      + ` (${first.namespace}/${trimmed}, ${second.namespace}/${trimmed}${more ? ', …' : ''})`);
  }
  return first;
}
