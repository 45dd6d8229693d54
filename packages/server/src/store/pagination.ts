/**
 * Keyset pagination shared by every store implementation. A cursor is opaque to callers:
 * base64url of `{"k": kind, "v": [key…]}`, where the key is the sort key of the last item of the
 * previous page. The kind stops a cursor of one listing from being used on another.
 */
import { EcronError } from '../core/errors.ts';

export const MAX_PAGE_LIMIT = 1000;

/** Throws VALIDATION_FAILED unless `limit` is an integer in 1..{@link MAX_PAGE_LIMIT}. */
export function checkPageLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw new EcronError('VALIDATION_FAILED', `limit must be an integer in 1..${MAX_PAGE_LIMIT}`, { limit });
  }
  return limit;
}

export function encodeCursor(kind: string, key: readonly string[]): string {
  return Buffer.from(JSON.stringify({ k: kind, v: key }), 'utf8').toString('base64url');
}

/**
 * The key inside a cursor made by {@link encodeCursor} for the same `kind` and `arity`. Throws
 * INVALID_CURSOR for anything else. Null or an empty string means the first page.
 */
export function decodeCursor(cursor: string | null | undefined, kind: string, arity: number): string[] | null {
  if (cursor === null || cursor === undefined || cursor === '') return null;
  const invalid = () => new EcronError('INVALID_CURSOR', 'the cursor is invalid: pass back a nextCursor unchanged');
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (typeof parsed !== 'object' || parsed === null) throw invalid();
  const { k, v } = parsed as { k?: unknown; v?: unknown };
  if (k !== kind || !Array.isArray(v) || v.length !== arity || !v.every((part) => typeof part === 'string')) throw invalid();
  return v as string[];
}

/**
 * Cuts a page from rows fetched with `limit + 1`: the extra row only says that another page
 * exists, and the cursor points after the last row kept.
 */
export function toPage<T>(rows: T[], limit: number, kind: string, keyOf: (item: T) => string[]): { items: T[]; nextCursor: string | null } {
  if (rows.length <= limit) return { items: rows, nextCursor: null };
  const items = rows.slice(0, limit);
  return { items, nextCursor: encodeCursor(kind, keyOf(items[items.length - 1]!)) };
}
