/**
 * The table "Access by route" of docs/security.md, read as data: one row per route with the least
 * role it needs and how it meets namespace scopes. `test/api/access-matrix.test.ts` checks the API
 * against it. A malformed row throws, naming its line.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const SECURITY_DOC = fileURLToPath(new URL('../../../../docs/security.md', import.meta.url));
export const ACCESS_SECTION = '## Access by route';

/** What a route needs of the caller: no token, any live token, a least role, the executor nodes' role, or the scrapers' role. */
export const LEAST_ROLES = ['public', 'authenticated', 'viewer', 'operator', 'editor', 'admin', 'executor', 'metrics'] as const;
export type LeastRole = (typeof LEAST_ROLES)[number];

/**
 * How a route meets a token scoped to other namespaces:
 * - `yes`: it acts on one resource of a namespace (named by the path or the body): refused (403 or 404), nothing changes;
 * - `per item`: a bulk route: it answers 200 with each item refused in its place, nothing changes;
 * - `filtered`: a list: it holds only what the token's namespaces hold;
 * - `no`: nothing it touches belongs to a namespace.
 */
export const SCOPES = ['yes', 'per item', 'filtered', 'no'] as const;
export type Scope = (typeof SCOPES)[number];

export interface AccessRow {
  method: string;
  /** As in /openapi.json: `/api/v1/tasks/{id}`. */
  path: string;
  least: LeastRole;
  scope: Scope;
  /** Line in the document, for messages. */
  line: number;
}

/** `METHOD path`, the key of a route in messages and maps. */
export const routeKey = (route: { method: string; path: string }): string => `${route.method} ${route.path}`;

const cell = (text: string): string => text.trim().replace(/^`(.*)`$/, '$1').trim();

/** The rows of the section's table (Method | Path | Least role | Namespace-scoped | Notes). */
export function parseAccessTable(markdown: string): AccessRow[] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => line.trim() === ACCESS_SECTION);
  if (start < 0) throw new Error(`docs/security.md has no section "${ACCESS_SECTION}"`);
  const rows: AccessRow[] = [];
  let header = true;
  for (let i = start + 1; i < lines.length && !lines[i]!.startsWith('## '); i++) {
    const line = lines[i]!.trim();
    if (!line.startsWith('|')) {
      if (rows.length > 0) break; // the table has ended
      continue;
    }
    if (header) {
      header = !/^\|[\s:|-]+\|$/.test(line); // the header row, then its separator
      continue;
    }
    const cells = line.replace(/^\||\|$/g, '').split('|').map(cell);
    const [method, path, least, scope] = cells;
    const where = `docs/security.md:${i + 1}`;
    if (cells.length < 4 || !method || !path) throw new Error(`${where}: a row needs a method, a path, a least role and a namespace scope: ${line}`);
    if (!/^(GET|POST|PUT|PATCH|DELETE)$/.test(method)) throw new Error(`${where}: unknown method ${JSON.stringify(method)}`);
    if (!path.startsWith('/')) throw new Error(`${where}: the path must start with "/": ${JSON.stringify(path)}`);
    if (!(LEAST_ROLES as readonly string[]).includes(least!)) throw new Error(`${where}: least role ${JSON.stringify(least)} is none of ${LEAST_ROLES.join(', ')}`);
    if (!(SCOPES as readonly string[]).includes(scope!)) throw new Error(`${where}: namespace scope ${JSON.stringify(scope)} is none of ${SCOPES.join(', ')}`);
    rows.push({ method, path, least: least as LeastRole, scope: scope as Scope, line: i + 1 });
  }
  if (rows.length === 0) throw new Error(`the section "${ACCESS_SECTION}" of docs/security.md holds no table rows`);
  return rows;
}

/** The table as docs/security.md holds it now. */
export function readAccessTable(): AccessRow[] {
  return parseAccessTable(readFileSync(SECURITY_DOC, 'utf8'));
}
