/**
 * The data dir holds the store, the server keys and the admin token: only the server's user may
 * read it. {@link makePrivateDir} creates it with mode 0700, and also narrows one that already
 * exists (made by hand, by an older version, or by a umask of 022), since `mkdir`'s mode applies
 * only to a directory it creates. The files ecron writes in it are created with
 * {@link PRIVATE_FILE_MODE} (see server-keys.ts, services/tokens.ts and store/sqlite/connection.ts).
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { EcronError } from './core/errors.ts';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Creates `dir` (and its parents) when missing and gives it mode 0700. A directory this user does
 * not own cannot be narrowed: CONFIG_INVALID, rather than secrets in a directory others can list
 * and enter.
 */
export function makePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  try {
    chmodSync(dir, PRIVATE_DIR_MODE);
  } catch (error) {
    throw new EcronError('CONFIG_INVALID',
      `the data dir ${resolve(dir)} cannot be made private (mode 0700): ${(error as Error).message}; use a directory of ecron's own, owned by the user that runs it`);
  }
}
