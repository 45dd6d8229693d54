/**
 * What `ecron alert channel …` and `ecron alert rule …` share: naming one by id or NAMESPACE/NAME,
 * and the spec of a create or an update from `-f FILE` and flags.
 */
import type { Page } from '@ecron/contracts';
import type { ApiClient } from '../api-client.ts';
import { CliError, usageError } from '../cli-error.ts';
import type { CliContext } from '../command-support.ts';
import { loadObjectFile } from '../spec-file.ts';

export const REF_HELP = 'id, or NAMESPACE/NAME';

/** An alert resource of `collection` ("alert-channels" or "alert-rules"). */
export interface Named { id: string; namespace: string; name: string }

export const alertPath = (collection: string, id: string, suffix = ''): string => `/api/v1/${collection}/${encodeURIComponent(id)}${suffix}`;

/** `a,b` given once or more as a list. */
export const splitList = (values: readonly string[] | undefined): string[] =>
  (values ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');

/**
 * The resource a REF names: an id is fetched; `NAMESPACE/NAME` is looked up in that namespace's
 * listing. Throws `notFound` (ALERT_CHANNEL_NOT_FOUND, ALERT_RULE_NOT_FOUND) when there is none.
 */
export async function resolveAlertRef<T extends Named>(api: ApiClient, collection: string, ref: string, notFound: string): Promise<T> {
  const trimmed = ref.trim();
  const slash = trimmed.indexOf('/');
  if (slash < 0) return api.request<T>({ path: alertPath(collection, trimmed) });
  const namespace = trimmed.slice(0, slash);
  const name = trimmed.slice(slash + 1);
  if (!namespace || !name) throw usageError(`"${ref}" is not a reference: use ID or NAMESPACE/NAME`);
  let cursor: string | null = null;
  do {
    const page: Page<T> = await api.request<Page<T>>({ path: `/api/v1/${collection}`, query: { namespace, limit: 1000, cursor } });
    const found = page.items.find((item) => item.name === name && item.namespace === namespace);
    if (found) return found;
    cursor = page.nextCursor;
  } while (cursor);
  throw new CliError(notFound, `no ${collection.replace('-', ' ').replace(/s$/, '')} named "${name}" in namespace "${namespace}"`);
}

/** The object of `-f FILE` (JSON or YAML), without the fields a resource as read has and a write does not take. */
export async function specFromFile(ctx: CliContext, file: string | undefined, what: string, readOnly: readonly string[]): Promise<Record<string, unknown> | undefined> {
  if (file === undefined) return undefined;
  const spec = await loadObjectFile(file, ctx.io, what);
  return Object.fromEntries(Object.entries(spec).filter(([key, value]) => !readOnly.includes(key) && value !== null));
}

/** A JSON object given to an option (`--config '{"port":465}'`). */
export function jsonObjectOption(name: string, text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw usageError(`${name} must be a JSON object, e.g. '{"port":465}'`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw usageError(`${name} must be a JSON object`);
  return value as Record<string, unknown>;
}

/** `key=value` pairs (`--header`, `-l`), given once or more, each possibly comma-separated when `commas`. */
export function keyValues(name: string, values: readonly string[] | undefined, commas: boolean): Record<string, string> | undefined {
  if (values === undefined || values.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const pair of commas ? splitList(values) : values) {
    const at = pair.indexOf('=');
    if (at <= 0) throw usageError(`${name} ${pair}: expected KEY=VALUE`);
    out[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return out;
}
