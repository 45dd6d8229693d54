import { type Command, InvalidArgumentError } from 'commander';
import type { Page } from '@ecron/contracts';
import type { ApiClient, QueryValue } from './api-client.ts';
import { type CliIo, openSession, type Session } from './context.ts';

/** What command groups share: the io, and the session of the command being run. */
export class CliContext {
  readonly io: CliIo;
  /** Set once a command has opened its session; used to explain an authentication failure. */
  session: Session | undefined;

  constructor(io: CliIo) {
    this.io = io;
  }

  open(command: Command): Session {
    this.session = openSession(command, this.io);
    return this.session;
  }
}

/** Errors that may pass while something is waited for (a restarting or draining server): the wait goes on. */
export const TRANSIENT_CODES: ReadonlySet<string> = new Set(['SERVER_UNREACHABLE', 'NOT_READY', 'SHUTTING_DOWN', 'STORE_UNAVAILABLE']);
/** How long a wait goes on through transient errors in a row before giving up. */
export const TRANSIENT_LIMIT_MS = 60_000;

/** An option parser for a whole number from `min` up. */
export function integerOption(name: string, min = 1, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value: string): number => {
    if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`${name} must be a whole number.`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be between ${min} and ${max}.`);
    return n;
  };
}

/** An option parser that collects a repeated option into a list. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * Lists a paged resource: one page of at most `limit` items, or every page when `all` is set.
 * The answer has the shape of one page, `nextCursor` null after the last.
 */
export async function listPages<T>(api: ApiClient, path: string, query: Record<string, QueryValue>, options: { limit?: number; all?: boolean }): Promise<Page<T>> {
  const items: T[] = [];
  let cursor: string | null | undefined;
  for (;;) {
    const page = await api.request<Page<T>>({ path, query: { ...query, limit: options.limit, cursor } });
    items.push(...(page.items ?? []));
    cursor = page.nextCursor ?? null;
    if (!options.all || cursor === null) break;
  }
  return { items, nextCursor: cursor ?? null };
}

/** Tells, on stderr, that a listing has more pages. */
export function moreHint(session: Session, page: Page<unknown>, what: string): void {
  if (page.nextCursor) session.io.stderr(`(more ${what}: use --all, or a larger --limit)\n`);
}
