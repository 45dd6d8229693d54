import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EcronError } from './core/errors.ts';
import type { Store } from './store/store.ts';

/**
 * The server's two secrets, kept in the data dir (mode 0600) and created at first start:
 * - `signing.key`: HMAC key of requests to executors. Executors need it to verify requests, so it
 *   is shared with them (or set per target with `target.secret`). `ECRON_SIGNING_KEY` overrides it.
 * - `callback.key`: signs run-scoped callback tokens. Never leaves the server.
 */
export interface ServerKeys {
  signingKey: string;
  callbackKey: string;
}

/**
 * The keys of a cluster node: every node must sign and check with the same keys, so they live in
 * the shared store (the first node to start creates them). `ECRON_SIGNING_KEY` still overrides
 * the signing key (then every node must set the same). A copy of the signing key is written to
 * DATA_DIR/signing.key when that file does not exist, for executors on the same host.
 */
export async function loadClusterKeys(store: Store, dataDir: string, env: Record<string, string | undefined>): Promise<ServerKeys> {
  const signingKey = env.ECRON_SIGNING_KEY ?? await store.ensureSecret({ name: 'signing-key', candidate: randomBytes(32).toString('base64url') });
  if (signingKey.length < 16) throw new EcronError('CONFIG_INVALID', 'ECRON_SIGNING_KEY must be at least 16 characters');
  const callbackKey = await store.ensureSecret({ name: 'callback-key', candidate: randomBytes(32).toString('base64url') });
  const copy = join(dataDir, 'signing.key');
  if (!existsSync(copy)) writeFileSync(copy, `${signingKey}\n`, { mode: 0o600, flag: 'wx' });
  return { signingKey, callbackKey };
}

export function loadServerKeys(dataDir: string, env: Record<string, string | undefined>): ServerKeys {
  const signingKey = env.ECRON_SIGNING_KEY ?? readOrCreate(join(dataDir, 'signing.key'));
  if (signingKey.length < 16) throw new EcronError('CONFIG_INVALID', 'ECRON_SIGNING_KEY must be at least 16 characters');
  return { signingKey, callbackKey: readOrCreate(join(dataDir, 'callback.key')) };
}

function readOrCreate(path: string): string {
  if (existsSync(path)) {
    const key = readFileSync(path, 'utf8').trim();
    if (key.length < 16) throw new EcronError('CONFIG_INVALID', `${path} holds no usable key (under 16 characters)`);
    return key;
  }
  const key = randomBytes(32).toString('base64url');
  writeFileSync(path, `${key}\n`, { mode: 0o600, flag: 'wx' });
  return key;
}
