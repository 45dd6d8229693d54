/**
 * Child process for the lock test: opens the SQLite store at argv[2], records a marker token
 * (secret hash "f" × 64), prints "ready" and holds the store until killed.
 */
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';

const store = createSqliteStore({ path: process.argv[2]! });
await store.open();
await store.createToken({
  token: {
    id: '01900000-0000-7000-8000-0000000000aa', name: 'written-by-child', role: 'viewer', namespaces: ['*'], groups: null, secretHash: 'f'.repeat(64),
    createdAt: Date.now(), lastUsedAt: null, revokedAt: null, expiresAt: null,
  },
  audit: { actor: 'child', action: 'token.create' },
});
process.stdout.write('ready\n');
setInterval(() => undefined, 60_000);
