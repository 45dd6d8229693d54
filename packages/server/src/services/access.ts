/**
 * Who is calling a service, and what they may touch. Roles are ordered viewer < editor < admin;
 * a namespace scope of `["*"]` covers every namespace.
 */
import type { TokenRole } from '@ecron/contracts';
import type { TokenRecord } from '../core/model.ts';

export interface Caller {
  /** Written to audit entries and revisions: `token:<id>`, or `system` for the server itself. */
  actor: string;
  role: TokenRole;
  /** Namespaces this caller may see and change; `["*"]` means all. */
  namespaces: readonly string[];
}

export const ALL_NAMESPACES = '*';

const ROLE_RANK: Record<TokenRole, number> = { viewer: 0, editor: 1, admin: 2 };

/** True when `role` includes everything `needed` may do. */
export function roleAllows(role: TokenRole, needed: TokenRole): boolean {
  return ROLE_RANK[role] >= ROLE_RANK[needed];
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
