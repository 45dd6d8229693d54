/**
 * Who is calling a service, and what they may touch. Roles are ordered viewer < operator <
 * editor < admin, each allowed all that the roles below it are; `executor`, the role of executor
 * nodes' credentials, stands outside that order and is allowed only what a requirement of
 * `executor` names. A namespace scope of `["*"]` covers every namespace.
 */
import type { RankedTokenRole, TokenRole } from '@ecron/contracts';
import type { TokenRecord } from '../core/model.ts';

export interface Caller {
  /** Written to audit entries and revisions: `token:<id>`, or `system` for the server itself. */
  actor: string;
  role: TokenRole;
  /** Namespaces this caller may see and change; `["*"]` means all. */
  namespaces: readonly string[];
}

export const ALL_NAMESPACES = '*';

const ROLE_RANK: Record<RankedTokenRole, number> = { viewer: 0, operator: 1, editor: 2, admin: 3 };

/**
 * What an operation needs of the caller's role:
 * - a role of the order: that role or a higher one (never `executor`);
 * - `executor`: the executor nodes' own operations (register, heartbeat, take runs, return
 *   results), open to an `executor` token and, as they were before that role existed, to editors
 *   and admins;
 * - `authenticated`: any live token, whatever its role.
 */
export type RoleRequirement = RankedTokenRole | 'executor' | 'authenticated';

/** True when `role` may do what `needed` asks. */
export function roleAllows(role: TokenRole, needed: RoleRequirement): boolean {
  if (needed === 'authenticated') return true;
  if (needed === 'executor') return role === 'executor' || roleAllows(role, 'editor');
  return role !== 'executor' && ROLE_RANK[role] >= ROLE_RANK[needed];
}

/** The roles that meet `needed`, for messages: "role operator or higher". */
export function describeRequirement(needed: RoleRequirement): string {
  if (needed === 'authenticated') return 'any role';
  if (needed === 'executor') return 'role executor, editor or admin';
  return needed === 'admin' ? 'role admin' : `role ${needed} or higher`;
}

export function isUnscoped(namespaces: readonly string[]): boolean {
  return namespaces.includes(ALL_NAMESPACES);
}

export function canAccessNamespace(caller: Caller, namespace: string): boolean {
  return isUnscoped(caller.namespaces) || caller.namespaces.includes(namespace);
}

/** True when the caller may change what lives in `namespace`: an editor or admin whose scope covers it. */
export function canEditNamespace(caller: Caller, namespace: string): boolean {
  return roleAllows(caller.role, 'editor') && canAccessNamespace(caller, namespace);
}

/** The namespace filter for list verbs of the store: null means no restriction. */
export function namespaceFilter(caller: Caller): string[] | null {
  return isUnscoped(caller.namespaces) ? null : [...caller.namespaces];
}

/** True when every namespace of `inner` is covered by `outer`. */
export function scopeCovers(outer: readonly string[], inner: readonly string[]): boolean {
  if (isUnscoped(outer)) return true;
  if (isUnscoped(inner)) return false;
  return inner.every((ns) => outer.includes(ns));
}

export function callerFromToken(token: TokenRecord): Caller {
  return { actor: `token:${token.id}`, role: token.role, namespaces: token.namespaces };
}

/** The server acting on its own behalf (bootstrap, maintenance). */
export const SYSTEM_CALLER: Caller = Object.freeze({ actor: 'system', role: 'admin', namespaces: Object.freeze([ALL_NAMESPACES]) });
