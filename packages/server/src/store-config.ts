/**
 * Which store a server runs on, from its `--store` URL: the embedded SQLite file (the default),
 * or a PostgreSQL or MySQL/MariaDB server shared by a cluster. Only the composition root and this
 * file know the implementations.
 */
import { resolve } from 'node:path';
import { EcronError } from './core/errors.ts';
import { createMysqlStore } from './store/mysql/mysql-store.ts';
import { createPostgresStore, describePostgresUrl } from './store/postgres/postgres-store.ts';
import { createSqliteStore } from './store/sqlite/sqlite-store.ts';
import type { Store } from './store/store.ts';

export type StoreConfig =
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgres'; url: string; schema: string }
  | { kind: 'mysql'; url: string };

/**
 * `sqlite:PATH` (or a bare path), `postgres://user@host:5432/db[?schema=NAME]` (schema default
 * `public`), `mysql://user@host:3306/db` (MariaDB too). Throws CONFIG_INVALID otherwise.
 */
export function parseStoreUrl(url: string | undefined, dataDir: string): StoreConfig {
  if (!url) return { kind: 'sqlite', path: resolve(dataDir, 'ecron.db') };
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\//, '');
    if (!path) throw new EcronError('CONFIG_INVALID', `--store ${url}: name a file, e.g. sqlite:./ecron.db`);
    return { kind: 'sqlite', path: path === ':memory:' ? path : resolve(path) };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'postgres' || scheme === 'postgresql' || scheme === 'mysql' || scheme === 'mariadb') {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new EcronError('CONFIG_INVALID', `--store: not a valid URL (${scheme}://user@host:port/database)`);
    }
    if (!parsed.hostname || parsed.pathname.length <= 1) {
      throw new EcronError('CONFIG_INVALID', `--store: name the host and the database, e.g. ${scheme}://user@127.0.0.1/ecron`);
    }
    if (scheme === 'mysql' || scheme === 'mariadb') {
      parsed.protocol = 'mysql:';
      return { kind: 'mysql', url: parsed.toString() };
    }
    const schema = parsed.searchParams.get('schema') ?? 'public';
    parsed.searchParams.delete('schema');
    return { kind: 'postgres', url: parsed.toString(), schema };
  }
  if (scheme && scheme.length > 1) throw new EcronError('CONFIG_INVALID', `--store: unknown store scheme "${scheme}"; expected sqlite:PATH, postgres://… or mysql://…`);
  return { kind: 'sqlite', path: resolve(url) };
}

export function createStore(config: StoreConfig, options: { poolSize?: number } = {}): Store {
  switch (config.kind) {
    case 'sqlite': return createSqliteStore({ path: config.path });
    case 'postgres': return createPostgresStore({ url: config.url, schema: config.schema, ...options });
    case 'mysql': return createMysqlStore({ url: config.url, ...options });
  }
}

/** The store as logs and messages name it: never with a password. */
export function describeStore(config: StoreConfig): string {
  switch (config.kind) {
    case 'sqlite': return config.path;
    case 'postgres': return describePostgresUrl(config.url, config.schema);
    case 'mysql': {
      const parsed = new URL(config.url);
      parsed.password = '';
      return parsed.toString();
    }
  }
}
