/** The signed-in session: the token (sessionStorage only) and what it may do (`GET /api/v1/me`). */
import type { RankedTokenRole } from '@ecron/contracts';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, session, setUnauthenticatedHandler, type Me } from './api.ts';

interface Auth {
  token: string | null;
  me: Me | undefined;
  signIn(token: string): Promise<void>;
  signOut(reason?: 'expired'): void;
  /** Set when the session ended because the API refused the token. */
  expired: boolean;
  /** The token has `role` or a higher one (viewer < operator < editor < admin); never for an executor token. */
  can(role: RankedTokenRole): boolean;
}

const AuthContext = createContext<Auth | null>(null);
const RANK: Record<RankedTokenRole, number> = { viewer: 0, operator: 1, editor: 2, admin: 3 };

export function AuthProvider({ children }: { children: ReactNode }) {
  const [token, setToken] = useState<string | null>(session.token());
  const [expired, setExpired] = useState(false);
  const client = useQueryClient();
  const me = useQuery({ queryKey: ['me', token], queryFn: () => api<Me>('GET', '/me'), enabled: token !== null, staleTime: 60_000 });

  const signOut = useCallback((reason?: 'expired') => {
    session.clear();
    setToken(null);
    setExpired(reason === 'expired');
    client.clear();
  }, [client]);

  useEffect(() => setUnauthenticatedHandler(() => signOut('expired')), [signOut]);

  const value = useMemo<Auth>(() => ({
    token,
    me: me.data,
    expired,
    async signIn(secret: string) {
      await api<Me>('GET', '/me', undefined, secret);
      session.set(secret);
      setExpired(false);
      setToken(secret);
    },
    signOut,
    can: (role) => (me.data !== undefined && me.data.role !== 'executor' && RANK[me.data.role] >= RANK[role]),
  }), [token, me.data, expired, signOut]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (!auth) throw new Error('useAuth outside AuthProvider');
  return auth;
}
