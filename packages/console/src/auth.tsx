/**
 * The signed-in session and what it may do where (`GET /api/v1/me`). Two ways in: an API token
 * (kept in sessionStorage only), or single sign-on, whose session is an httpOnly cookie the
 * browser sends by itself (a mark in localStorage says to use it; its CSRF token comes from `/me`).
 */
import type { RankedTokenRole } from '@ecron/contracts';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, session, setCsrfToken, setUnauthenticatedHandler, type Grant, type Me } from './api.ts';

interface Auth {
  token: string | null;
  /** Signed in: with a token, or with SSO. */
  signedIn: boolean;
  /** Signed in with SSO (the session cookie). */
  sso: boolean;
  me: Me | undefined;
  signIn(token: string): Promise<void>;
  signOut(reason?: 'expired'): void;
  /** Set when the session ended because the API refused it: a token's, or an SSO session's. */
  expired: 'token' | 'sso' | null;
  /**
   * The caller has `role` or a higher one (viewer < operator < editor < admin; never for an
   * executor token) in `namespace`, or, without one (null: all namespaces), in some namespace.
   */
  can(role: RankedTokenRole, namespace?: string | null): boolean;
}

const AuthContext = createContext<Auth | null>(null);
const RANK: Record<RankedTokenRole, number> = { viewer: 0, operator: 1, editor: 2, admin: 3 };

/** The grants of `/me` (a server before grants: its one role over its namespaces). */
export function grantsOf(me: Me): Grant[] {
  return me.grants ?? [{ role: me.role, namespaces: me.namespaces }];
}

/** Whether `grants` give `role` or higher in `namespace` (any namespace when null or undefined). */
export function grantsAllow(grants: readonly Grant[], role: RankedTokenRole, namespace?: string | null): boolean {
  return grants.some((grant) => grant.role !== 'executor' && grant.role !== 'metrics' && RANK[grant.role] >= RANK[role]
    && (namespace === undefined || namespace === null || grant.namespaces.includes('*') || grant.namespaces.includes(namespace)));
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const [token, setToken] = useState<string | null>(session.token());
  const [sso, setSso] = useState<boolean>(() => session.token() === null && session.sso());
  const [expired, setExpired] = useState<'token' | 'sso' | null>(null);
  const client = useQueryClient();
  const signedIn = token !== null || sso;
  const me = useQuery({ queryKey: ['me', token ?? 'sso'], queryFn: () => api<Me>('GET', '/me'), enabled: signedIn, staleTime: 60_000 });
  useEffect(() => setCsrfToken(me.data?.csrfToken ?? null), [me.data]);

  const signOut = useCallback((reason?: 'expired') => {
    // The server ends an SSO session everywhere; a token simply stops being sent.
    if (sso && reason !== 'expired') void api('POST', '/auth/logout').catch(() => undefined).finally(() => session.clear());
    else session.clear();
    setToken(null);
    setSso(false);
    setExpired(reason === 'expired' ? (sso ? 'sso' : 'token') : null);
    client.clear();
  }, [client, sso]);

  useEffect(() => setUnauthenticatedHandler(() => signOut('expired')), [signOut]);

  const value = useMemo<Auth>(() => ({
    token,
    signedIn,
    sso,
    me: me.data,
    expired,
    async signIn(secret: string) {
      await api<Me>('GET', '/me', undefined, secret);
      session.set(secret);
      setExpired(null);
      setToken(secret);
    },
    signOut,
    can: (role, namespace) => me.data !== undefined && grantsAllow(grantsOf(me.data), role, namespace),
  }), [token, signedIn, sso, me.data, expired, signOut]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (!auth) throw new Error('useAuth outside AuthProvider');
  return auth;
}
