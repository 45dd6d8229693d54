/**
 * From the groups the identity provider names to the grants of a session: each mapping of the
 * config whose group the user is in gives its role in its namespaces. Grants of one role are
 * merged; nothing else is: an editor of `a` who is a viewer of `b` stays a viewer in `b`
 * (`services/access.ts` asks for the role in the namespace concerned).
 */
import type { GrantRecord } from '../core/model.ts';
import type { RoleMapping } from './config.ts';

/** The grants of a user in `groups`; empty when no mapping matches (the sign-in is refused). */
export function grantsForGroups(mappings: readonly RoleMapping[], groups: readonly string[]): GrantRecord[] {
  const member = new Set(groups);
  const byRole = new Map<GrantRecord['role'], Set<string>>();
  for (const mapping of mappings) {
    if (!member.has(mapping.group)) continue;
    const namespaces = byRole.get(mapping.role) ?? new Set<string>();
    for (const ns of mapping.namespaces) namespaces.add(ns);
    byRole.set(mapping.role, namespaces);
  }
  return [...byRole].map(([role, namespaces]) => ({ role, namespaces: namespaces.has('*') ? ['*'] : [...namespaces] }));
}

/** The groups of a claim's value: a list of strings, or one string (some providers send a single group so). */
export function groupsOfClaim(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string');
  return [];
}
