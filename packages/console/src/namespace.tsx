/**
 * The namespace the console shows: all of them, or the one chosen in the header, remembered in
 * localStorage as the language is. The task, workflow and run lists ask the API for that
 * namespace only, and the task and workflow forms start in it.
 *
 * The choices are the namespaces the token can see: those `GET /api/v1/namespaces` lists (the
 * stored ones and `default`) and those its scope names (`GET /api/v1/me`), which may exist only
 * because tasks name them. A remembered choice the token cannot see (another token signed in, or
 * the namespace was deleted) counts as "all namespaces", once the list has answered.
 */
import { useQuery } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';
import { listNamespaces } from './api.ts';
import { useAuth } from './auth.tsx';

const NAMESPACE_KEY = 'ecron.namespace';

interface NamespaceChoice {
  /** The namespace chosen, or null for all of them. */
  namespace: string | null;
  /** What the header offers, by name. */
  choices: string[];
  choose(namespace: string | null): void;
}

const NamespaceContext = createContext<NamespaceChoice | null>(null);

/** `GET /api/v1/namespaces`, shared by the header and the namespaces page (which polls it). */
export function useNamespaceList(refetchInterval?: number) {
  const { can } = useAuth();
  return useQuery({ queryKey: ['namespaces'], queryFn: listNamespaces, enabled: can('viewer'), refetchInterval });
}

export function NamespaceProvider({ children }: { children: ReactNode }) {
  const { me } = useAuth();
  const list = useNamespaceList();
  const [chosen, setChosen] = useState<string | null>(() => localStorage.getItem(NAMESPACE_KEY));
  const choices = useMemo(() => {
    const names = new Set(list.data?.items.map((ns) => ns.name) ?? []);
    for (const name of me?.namespaces ?? []) if (name !== '*') names.add(name);
    return [...names].sort();
  }, [list.data, me]);

  const choose = useCallback((namespace: string | null) => {
    if (namespace === null) localStorage.removeItem(NAMESPACE_KEY);
    else localStorage.setItem(NAMESPACE_KEY, namespace);
    setChosen(namespace);
  }, []);

  // Until the list answers, the remembered choice holds: a reload shows its lists filtered at once.
  const namespace = chosen !== null && list.isSuccess && me !== undefined && !choices.includes(chosen) ? null : chosen;
  const value = useMemo<NamespaceChoice>(() => ({ namespace, choices, choose }), [namespace, choices, choose]);
  return <NamespaceContext.Provider value={value}>{children}</NamespaceContext.Provider>;
}

export function useNamespace(): NamespaceChoice {
  const choice = useContext(NamespaceContext);
  if (!choice) throw new Error('useNamespace outside NamespaceProvider');
  return choice;
}
