/**
 * The admin token for all namespaces (`role: admin`, `namespaces: ["*"]`) is the only kind that
 * can create tokens for every namespace and read the audit log. The last live one is never
 * revoked (LAST_ADMIN_TOKEN): without it, nobody could manage the server through its API again.
 */
import { EcronError } from './errors.ts';
import type { TokenRecord } from './model.ts';

export function isUnscopedAdmin(token: Pick<TokenRecord, 'role' | 'namespaces'>): boolean {
  return token.role === 'admin' && token.namespaces.includes('*');
}

export function lastAdminError(token: Pick<TokenRecord, 'id' | 'name'>): EcronError {
  return new EcronError('LAST_ADMIN_TOKEN', `token ${token.name} is the last admin token for all namespaces: create another admin token before revoking it`, { id: token.id });
}
