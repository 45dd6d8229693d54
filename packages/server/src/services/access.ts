/**
 * Who is calling a service, and what they may touch, namespace by namespace.
 *
 * A caller holds grants: each a role and the namespaces it covers (`["*"]`: every namespace). An
 * API token is one grant, its role and its scope. A signed-in user (SSO, `sso/`) holds one grant
 * per role mapping their groups matched, so one person may be an editor in `a` and a viewer in
 * `b`: every check asks for a role IN the namespace concerned ({@link canAccessNamespace}), never
 * for the caller's role in general. The route-level check (`api/auth.ts`) passes when any grant
 * meets the route's requirement; the services then check the namespace of what they touch with
 * that same requirement.
 *
 * Roles are ordered viewer < operator < editor < admin, each allowed all that the roles below it
 * are; `executor`, the role of executor nodes' credentials, stands outside that order and is
 * allowed only what a requirement of `executor` names; so does `metrics`, a Prometheus scraper's
 * role, allowed only what a requirement of `metrics` names (`GET /metrics`). An `executor` token may also be limited to
 * some executor groups of its namespaces (`Grant.groups`, {@link canActForGroup}).
 */
import type { RankedTokenRole, TokenRole } from '@ecron/contracts';
import { EcronError } from '../core/errors.ts';
import type { TokenRecord } from '../core/model.ts';

/** One role over some namespaces. */
export interface Grant {
  role: TokenRole;
  /** The namespaces the role holds in; `["*"]` means all. */
  namespaces: readonly string[];
  /**
   * An `executor` token limited to executor groups: the groups, in each of its namespaces, whose
   * nodes it may register and act for ({@link canActForGroup}). Absent: every group.
   */
  groups?: readonly string[];
}

export interface Caller {
  /** Written to audit entries and revisions: `token:<id>`, `user:<subject>`, or `system` for the server itself. */
  actor: string;
  /** What the caller may do, and where. A token has exactly one. */
  grants: readonly Grant[];
}

export const ALL_NAMESPACES = '*';

const ROLE_RANK: Record<RankedTokenRole, number> = { viewer: 0, operator: 1, editor: 2, admin: 3 };

/**
 * What an operation needs of the caller's role:
 * - a role of the order: that role or a higher one (never `executor`);
 * - `executor`: the executor nodes' own operations (register, heartbeat, take runs, return
 *   results), open to an `executor` token and, as they were before that role existed, to editors
 *   and admins;
 * - `metrics`: reading the metrics (`GET /metrics`), open to a `metrics` token and to admins;
 * - `authenticated`: any live credential, whatever its role, except a `metrics` token (which
 *   reads the metrics and nothing else).
 */
export type RoleRequirement = RankedTokenRole | 'executor' | 'metrics' | 'authenticated';

/** The roles outside the order, each allowed only what a requirement of its own name names. */
const isUnranked = (role: TokenRole): role is 'executor' | 'metrics' => role === 'executor' || role === 'metrics';

/** True when `role` may do what `needed` asks. */
export function roleAllows(role: TokenRole, needed: RoleRequirement): boolean {
  if (needed === 'authenticated') return role !== 'metrics';
  if (needed === 'executor') return role === 'executor' || roleAllows(role, 'editor');
  if (needed === 'metrics') return role === 'metrics' || role === 'admin';
  return !isUnranked(role) && ROLE_RANK[role] >= ROLE_RANK[needed];
}

/** The roles that meet `needed`, for messages: "role operator or higher". */
export function describeRequirement(needed: RoleRequirement): string {
  if (needed === 'authenticated') return 'any role';
  if (needed === 'executor') return 'role executor, editor or admin';
  if (needed === 'metrics') return 'role metrics or admin';
  return needed === 'admin' ? 'role admin' : `role ${needed} or higher`;
}

export function isUnscoped(namespaces: readonly string[]): boolean {
  return namespaces.includes(ALL_NAMESPACES);
}

const covers = (grant: Grant, namespace: string): boolean => isUnscoped(grant.namespaces) || grant.namespaces.includes(namespace);

/** True when some grant of the caller meets `needed`, in whichever namespace: the route-level check. */
export function callerAllows(caller: Caller, needed: RoleRequirement): boolean {
  return caller.grants.some((grant) => roleAllows(grant.role, needed));
}

/** True when the caller holds a role meeting `needed` in `namespace`. */
export function canAccessNamespace(caller: Caller, namespace: string, needed: RoleRequirement): boolean {
  return caller.grants.some((grant) => roleAllows(grant.role, needed) && covers(grant, namespace));
}

/**
 * True when the caller may act as an executor node of `group` in `namespace` (register it,
 * heartbeat it, remove it, take and answer its runs): a grant meeting `executor` covers the
 * namespace and, if it is limited to groups, names this one. Who registered the node is
 * {@link mayActAsNode}'s question (`executor-registry.ts`).
 */
export function canActForGroup(caller: Caller, namespace: string, group: string): boolean {
  return caller.grants.some((grant) => roleAllows(grant.role, 'executor') && covers(grant, namespace)
    && (grant.groups === undefined || grant.groups.includes(group)));
}

/**
 * The executor groups of `namespace` the caller may act for: null when some grant covers every
 * group there (or none covers the namespace: ask {@link canAccessNamespace} first), else the groups
 * its limited grants name. For messages.
 */
export function executorGroupsIn(caller: Caller, namespace: string): string[] | null {
  const grants = caller.grants.filter((grant) => roleAllows(grant.role, 'executor') && covers(grant, namespace));
  if (grants.length === 0 || grants.some((grant) => grant.groups === undefined)) return null;
  return [...new Set(grants.flatMap((grant) => grant.groups ?? []))];
}

/**
 * The caller's highest role in `namespace`, or null when no grant covers it. A role of the order
 * outranks `executor` and `metrics`, which are returned only when all the caller holds there is one.
 */
export function roleIn(caller: Caller, namespace: string): TokenRole | null {
  return highestRole(caller.grants.filter((grant) => covers(grant, namespace)));
}

function highestRole(grants: readonly Grant[]): TokenRole | null {
  let best: TokenRole | null = null;
  for (const { role } of grants) {
    if (best === null || (isUnranked(best) && !isUnranked(role)) || (!isUnranked(role) && !isUnranked(best) && ROLE_RANK[role] > ROLE_RANK[best])) best = role;
  }
  return best;
}

/** The caller's highest role anywhere (what `GET /api/v1/me` calls its `role`). */
export function highestRoleOf(caller: Caller): TokenRole {
  return highestRole(caller.grants) ?? 'viewer';
}

/** The namespaces where the caller holds a role meeting `needed`: `["*"]` when a grant covers all, else in the grants' order. */
export function scopeOf(caller: Caller, needed: RoleRequirement): string[] {
  const grants = caller.grants.filter((grant) => roleAllows(grant.role, needed));
  if (grants.some((grant) => isUnscoped(grant.namespaces))) return [ALL_NAMESPACES];
  return [...new Set(grants.flatMap((grant) => grant.namespaces))];
}

/** The namespace filter for list verbs of the store, for what needs `needed`: null means no restriction. */
export function namespaceFilter(caller: Caller, needed: RoleRequirement): string[] | null {
  const scope = scopeOf(caller, needed);
  return isUnscoped(scope) ? null : scope;
}

/**
 * Throws unless the caller holds a role meeting `needed` in `namespace`: `hidden()` (a NOT_FOUND of
 * the resource) when the caller may not even see that namespace, so that what lies outside its scope
 * does not exist for it; FORBIDDEN, naming the role, when it may see it but not do this there.
 */
export function checkNamespaceAccess(caller: Caller, namespace: string, needed: RoleRequirement, hidden: () => EcronError): void {
  if (canAccessNamespace(caller, namespace, needed)) return;
  if (needed === 'viewer' || needed === 'authenticated' || !canAccessNamespace(caller, namespace, 'viewer')) throw hidden();
  throw forbiddenIn(caller, namespace, needed);
}

/** How messages name the caller: "this user" for a signed-in person, "this token" otherwise. */
export function callerNoun(caller: Caller): string {
  return caller.actor.startsWith('user:') ? 'this user' : 'this token';
}

/** FORBIDDEN for an operation that needs `needed` in `namespace`, which the caller lacks there. */
export function forbiddenIn(caller: Caller, namespace: string, needed: RoleRequirement): EcronError {
  const held = roleIn(caller, namespace);
  return new EcronError('FORBIDDEN', `this operation needs ${describeRequirement(needed)} in namespace ${JSON.stringify(namespace)}; `
    + (held === null ? `${callerNoun(caller)} has no role there` : `${callerNoun(caller)} is ${held} there`));
}

/** True when every namespace of `inner` is covered by `outer`. */
export function scopeCovers(outer: readonly string[], inner: readonly string[]): boolean {
  if (isUnscoped(outer)) return true;
  if (isUnscoped(inner)) return false;
  return inner.every((ns) => outer.includes(ns));
}

export function callerFromToken(token: TokenRecord): Caller {
  const grant: Grant = { role: token.role, namespaces: token.namespaces, ...(token.groups === null ? {} : { groups: token.groups }) };
  return { actor: `token:${token.id}`, grants: [grant] };
}

/** The server acting on its own behalf (bootstrap, maintenance). */
export const SYSTEM_CALLER: Caller = Object.freeze({
  actor: 'system', grants: Object.freeze([Object.freeze({ role: 'admin' as const, namespaces: Object.freeze([ALL_NAMESPACES]) })]),
});
