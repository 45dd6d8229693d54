/**
 * API tokens. A secret is `ecr_` + 32 random bytes in base64url; only its SHA-256 (hex) is
 * stored, so a leaked database does not leak credentials. A token may be given an expiry: from
 * that instant on it is refused exactly as an unknown one is. An `executor` token may be limited
 * to some executor groups of its namespaces (`groups`). There are no default credentials:
 * {@link bootstrapAdminToken} creates the first admin token on first start and writes it to a
 * file only the server's user can read.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateTokenSchema, describeFieldIssues, MAX_TOKEN_LIFETIME_MS, toFieldIssues, type CreateTokenInput } from '@ecron/contracts';
import { isLiveAt } from '../core/admin-tokens.ts';
import type { Clock } from '../core/clock.ts';
import { EcronError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { TokenRecord } from '../core/model.ts';
import { makePrivateDir, PRIVATE_FILE_MODE } from '../data-dir.ts';
import type { Store } from '../store/store.ts';
import { ALL_NAMESPACES, scopeCovers, scopeOf, type Caller } from './access.ts';

export const TOKEN_PREFIX = 'ecr_';
/** File name of the first admin token inside the data dir. */
export const ADMIN_TOKEN_FILE = 'admin.token';
/** `lastUsedAt` is written at most this often per token, to keep reads from becoming writes. */
export const TOKEN_TOUCH_INTERVAL_MS = 60_000;

/** A new token secret: `ecr_` + 32 random bytes, base64url. */
export function generateTokenSecret(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

export function hashTokenSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export interface TokenService {
  /** Creates a token; the secret is returned here and never again. */
  create(caller: Caller, input: CreateTokenInput): Promise<{ token: TokenRecord; secret: string }>;
  /** Tokens whose scope lies within the namespaces where the caller is an admin, oldest first. */
  list(caller: Caller): Promise<TokenRecord[]>;
  /**
   * Throws TOKEN_NOT_FOUND (also for a token outside the caller's scope), and LAST_ADMIN_TOKEN
   * for the last live admin token for all namespaces. Idempotent.
   */
  revoke(caller: Caller, id: string): Promise<TokenRecord>;
  /** The live token with this secret, or null (unknown, revoked or expired: the caller cannot tell which). Records its use. */
  authenticate(secret: string): Promise<TokenRecord | null>;
}

/**
 * The instant a new token expires, from `expiresAt` or `expiresIn` (parsed: milliseconds); null
 * when neither is given. Throws VALIDATION_FAILED for an `expiresAt` that is not in the future or
 * lies more than {@link MAX_TOKEN_LIFETIME_MS} away.
 */
export function expiryOf(input: { expiresAt?: string | undefined; expiresIn?: number | undefined }, now: number): number | null {
  if (input.expiresIn !== undefined) return now + input.expiresIn;
  if (input.expiresAt === undefined) return null;
  const at = Date.parse(input.expiresAt);
  const problem = at <= now ? 'must be in the future' : at - now > MAX_TOKEN_LIFETIME_MS ? 'must be at most ten years away' : null;
  if (problem === null) return at;
  const issues = [{ path: 'expiresAt', code: 'OUT_OF_RANGE', message: problem }];
  throw new EcronError('VALIDATION_FAILED', describeFieldIssues(issues), { issues });
}

export function createTokenService(deps: { store: Store; clock: Clock }): TokenService {
  const { store, clock } = deps;

  return {
    async create(caller, input) {
      const parsed = CreateTokenSchema.safeParse(input);
      if (!parsed.success) {
        const issues = toFieldIssues(parsed.error);
        throw new EcronError('VALIDATION_FAILED', describeFieldIssues(issues), { issues });
      }
      const { name, role, namespaces } = parsed.data;
      const scope = namespaces.includes(ALL_NAMESPACES) ? [ALL_NAMESPACES] : [...new Set(namespaces)];
      // Only an executor token gets here with groups (the schema refuses them for other roles).
      const groups = parsed.data.groups === undefined ? null : [...new Set(parsed.data.groups)];
      if (!scopeCovers(scopeOf(caller, 'admin'), scope)) {
        throw new EcronError('FORBIDDEN', 'a token cannot be given namespaces outside the scope of the token creating it');
      }
      const now = clock.now();
      const expiresAt = expiryOf(parsed.data, now);
      const secret = generateTokenSecret();
      const token: TokenRecord = {
        id: newId(), name, role, namespaces: scope, groups, secretHash: hashTokenSecret(secret),
        createdAt: now, lastUsedAt: null, revokedAt: null, expiresAt,
      };
      const details = {
        name, role, namespaces: scope, ...(groups === null ? {} : { groups }), ...(expiresAt === null ? {} : { expiresAt: new Date(expiresAt).toISOString() }),
      };
      const stored = await store.createToken({ token, audit: { actor: caller.actor, action: 'token.create', details } });
      return { token: stored, secret };
    },

    async list(caller) {
      const tokens = await store.listTokens();
      const scope = scopeOf(caller, 'admin');
      return tokens.filter((t) => scopeCovers(scope, t.namespaces));
    },

    async revoke(caller, id) {
      const existing = (await store.listTokens()).find((t) => t.id === id);
      if (!existing || !scopeCovers(scopeOf(caller, 'admin'), existing.namespaces)) throw new EcronError('TOKEN_NOT_FOUND');
      return store.revokeToken({
        id, at: clock.now(), audit: { actor: caller.actor, action: 'token.revoke', details: { name: existing.name } }, keepLastAdmin: true,
      });
    },

    async authenticate(secret) {
      const token = await store.findTokenByHash(hashTokenSecret(secret));
      const now = clock.now();
      if (!token || !isLiveAt(token, now)) return null;
      if (token.lastUsedAt === null || now - token.lastUsedAt >= TOKEN_TOUCH_INTERVAL_MS) {
        await store.touchToken({ id: token.id, at: now });
      }
      return token;
    },
  };
}

/** Printable ASCII without spaces: the secret travels in an HTTP header. */
const ADMIN_SECRET_PATTERN = /^[\x21-\x7e]+$/;
/**
 * A chosen admin secret is as strong as its length allows: 32 characters, as many as the hex of
 * 16 random bytes, leave online guessing hopeless (a generated secret carries 32 random bytes).
 */
const ADMIN_SECRET_MIN = 32;
const ADMIN_SECRET_MAX = 512;

export type BootstrapResult = { created: true; path: string } | { created: false };

/**
 * On first start (the store has no token at all), creates the admin token named `admin` with
 * role admin and all namespaces. Its secret is `env.ECRON_ADMIN_TOKEN` when set (at least
 * {@link ADMIN_SECRET_MIN} printable characters, else CONFIG_INVALID), or a new random one. The
 * secret is written to `dataDir/admin.token` (mode 0600, in a data dir made 0700) BEFORE the token
 * is stored: if the write fails, nothing is stored and the next start tries again, so the server
 * can never hold an admin nobody knows.
 */
export async function bootstrapAdminToken(deps: {
  store: Store; dataDir: string; env: Readonly<Record<string, string | undefined>>; clock: Clock;
}): Promise<BootstrapResult> {
  const { store, dataDir, env, clock } = deps;
  if ((await store.countTokens()) > 0) return { created: false };

  const fromEnv = env.ECRON_ADMIN_TOKEN;
  if (fromEnv !== undefined) {
    if (fromEnv.length < ADMIN_SECRET_MIN || fromEnv.length > ADMIN_SECRET_MAX || !ADMIN_SECRET_PATTERN.test(fromEnv)) {
      throw new EcronError('CONFIG_INVALID',
        `ECRON_ADMIN_TOKEN must be ${ADMIN_SECRET_MIN}-${ADMIN_SECRET_MAX} printable characters without spaces (it has ${fromEnv.length} characters); `
        + 'make one with: echo ecr_$(openssl rand -hex 24)');
    }
  }
  const secret = fromEnv ?? generateTokenSecret();

  makePrivateDir(dataDir);
  const path = join(dataDir, ADMIN_TOKEN_FILE);
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${secret}\n`, { mode: PRIVATE_FILE_MODE });
  await chmod(temporary, PRIVATE_FILE_MODE); // a file left by a crash keeps its mode: writeFile's applies to new files only
  await rename(temporary, path);

  const token: TokenRecord = {
    id: newId(), name: 'admin', role: 'admin', namespaces: [ALL_NAMESPACES], groups: null, secretHash: hashTokenSecret(secret),
    createdAt: clock.now(), lastUsedAt: null, revokedAt: null, expiresAt: null,
  };
  await store.createToken({
    token,
    audit: { actor: 'system', action: 'token.create', details: { name: 'admin', role: 'admin', namespaces: [ALL_NAMESPACES], bootstrap: true } },
  });
  return { created: true, path };
}
