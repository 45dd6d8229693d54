import type { Page, WorkflowResource } from '@ecron/contracts';
import type { ApiClient } from './api-client.ts';
import { CliError } from './cli-error.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Pages read while looking a name up: the API filters workflows by a substring of the name only. */
const PAGE = 200;

/** The API path of a workflow. */
export function workflowPath(id: string, suffix = ''): string {
  return `/api/v1/workflows/${encodeURIComponent(id)}${suffix}`;
}

/** The API path of a workflow run. */
export function workflowRunPath(id: string, suffix = ''): string {
  return `/api/v1/workflow-runs/${encodeURIComponent(id)}${suffix}`;
}

/** The workflows named exactly `name` (in `namespace` when given); `limit` stops early. */
async function findByName(api: ApiClient, name: string, namespace: string | undefined, limit: number): Promise<WorkflowResource[]> {
  const found: WorkflowResource[] = [];
  let cursor: string | null | undefined;
  do {
    const page = await api.request<Page<WorkflowResource>>({ path: '/api/v1/workflows', query: { namespace, name, limit: PAGE, cursor } });
    found.push(...(page.items ?? []));
    cursor = page.nextCursor;
  } while (cursor && found.length < limit);
  return found;
}

/**
 * Finds the workflow a REF names, as tasks are found:
 * - a workflow id (a UUID) is fetched directly;
 * - `namespace/name` is looked up in that namespace;
 * - a bare `name` is looked up in every namespace the token sees; it must be unique there.
 * Throws WORKFLOW_NOT_FOUND when there is no such workflow, WORKFLOW_REF_AMBIGUOUS when a bare
 * name is in several namespaces.
 */
export async function resolveWorkflow(api: ApiClient, ref: string): Promise<WorkflowResource> {
  const trimmed = ref.trim();
  if (trimmed === '') throw new CliError('USAGE', 'a workflow reference must not be empty', { exitCode: 2 });
  if (UUID.test(trimmed)) {
    try {
      return await api.request<WorkflowResource>({ path: workflowPath(trimmed) });
    } catch (error) {
      if (!(error instanceof CliError) || (error.code !== 'WORKFLOW_NOT_FOUND' && error.code !== 'NOT_FOUND')) throw error;
    }
    // Not an id after all: a workflow may be named like one.
  }
  const slash = trimmed.indexOf('/');
  if (slash >= 0) {
    const namespace = trimmed.slice(0, slash);
    const name = trimmed.slice(slash + 1);
    if (!namespace || !name) throw new CliError('USAGE', `"${ref}" is not a workflow reference: use ID, NAME or NAMESPACE/NAME`, { exitCode: 2 });
    const [workflow] = await findByName(api, name, namespace, 1);
    if (!workflow) throw new CliError('WORKFLOW_NOT_FOUND', `no workflow named "${name}" in namespace "${namespace}"`);
    return workflow;
  }
  const [first, second, third] = await findByName(api, trimmed, undefined, 3);
  if (!first) throw new CliError('WORKFLOW_NOT_FOUND', `no workflow with id or name "${trimmed}"`);
  if (second) {
    throw new CliError('WORKFLOW_REF_AMBIGUOUS', `a workflow named "${trimmed}" exists in several namespaces; use NAMESPACE/NAME`
      + ` (${first.namespace}/${trimmed}, ${second.namespace}/${trimmed}${third ? ', …' : ''})`);
  }
  return first;
}
