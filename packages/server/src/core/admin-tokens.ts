/**
 * Which tokens are live, and the admin token for all namespaces.
 *
 * A token is live until it is revoked or its `expiresAt` comes: from that instant on it is refused
 * as an unknown one would be. The admin token for all namespaces (`role: admin`, `namespaces:
 * ["*"]`) is the only kind that can create tokens for every namespace and read the audit log. The
 * last such token that never expires is never revoked (LAST_ADMIN_TOKEN): without it, nobody could
 * manage the server through its API again, at once or once the others had expired.
 */
import { EcronError } from './errors.ts';
import type { TokenRecord } from './model.ts';

export function isUnscopedAdmin(token: Pick<TokenRecord, 'role' | 'namespaces'>): boolean {
  return token.role === 'admin' && token.namespaces.includes('*');
}

/** An admin token for all namespaces that never expires: the kind of which the last is kept. */
export function isPermanentAdmin(token: Pick<TokenRecord, 'role' | 'namespaces' | 'expiresAt'>): boolean {
  return isUnscopedAdmin(token) && token.expiresAt === null;
}

/** True from the token's `expiresAt` on; never for a token without one. */
export function isExpiredAt(token: Pick<TokenRecord, 'expiresAt'>, at: number): boolean {
  return token.expiresAt !== null && at >= token.expiresAt;
}

/** Neither revoked nor expired at `at`. */
export function isLiveAt(token: Pick<TokenRecord, 'revokedAt' | 'expiresAt'>, at: number): boolean {
  return token.revokedAt === null && !isExpiredAt(token, at);
}

export function lastAdminError(token: Pick<TokenRecord, 'id' | 'name'>): EcronError {
  return new EcronError('LAST_ADMIN_TOKEN',
    `token ${token.name} is the last admin token for all namespaces that never expires: create another such admin token before revoking it`, { id: token.id });
}
