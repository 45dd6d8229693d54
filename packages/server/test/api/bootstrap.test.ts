import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EcronError } from '../../src/core/errors.ts';
import { bootstrapAdminToken, hashTokenSecret } from '../../src/services/tokens.ts';
import { createSqliteStore } from '../../src/store/sqlite/sqlite-store.ts';
import type { Store } from '../../src/store/store.ts';
import { ManualClock } from '../../src/testing/manual-clock.ts';

let dir: string;
let store: Store;
const clock = new ManualClock('2026-01-01T00:00:00Z');

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ecron-bootstrap-'));
  store = createSqliteStore({ path: ':memory:' });
  await store.open();
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe('bootstrapAdminToken', () => {
  it('creates one admin token on first start, written to a 0600 file, and nothing on the next', async () => {
    const dataDir = join(dir, 'data'); // created on demand
    const first = await bootstrapAdminToken({ store, dataDir, env: {}, clock });
    expect(first).toEqual({ created: true, path: join(dataDir, 'admin.token') });
    const file = join(dataDir, 'admin.token');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const secret = (await readFile(file, 'utf8')).trim();
    expect(secret).toMatch(/^ecr_[A-Za-z0-9_-]{43}$/);

    const token = await store.findTokenByHash(hashTokenSecret(secret));
    expect(token).toMatchObject({ name: 'admin', role: 'admin', namespaces: ['*'], revokedAt: null, createdAt: clock.now() });
    expect(await store.countTokens()).toBe(1);
    const audit = await store.listAudit({ limit: 10 });
    expect(audit.items).toEqual([expect.objectContaining({ actor: 'system', action: 'token.create', resourceId: token!.id })]);

    const second = await bootstrapAdminToken({ store, dataDir, env: { ECRON_ADMIN_TOKEN: 'another-admin-token-0123456789abcdef' }, clock });
    expect(second).toEqual({ created: false });
    expect(await store.countTokens()).toBe(1);
    expect((await readFile(file, 'utf8')).trim()).toBe(secret);
  });

  it('uses ECRON_ADMIN_TOKEN as the admin secret when set', async () => {
    const chosen = 'my-chosen-admin-token-0123456789'; // 32 characters, the least accepted
    const result = await bootstrapAdminToken({ store, dataDir: dir, env: { ECRON_ADMIN_TOKEN: chosen }, clock });
    expect(result.created).toBe(true);
    expect((await readFile(join(dir, 'admin.token'), 'utf8')).trim()).toBe(chosen);
    expect((await stat(join(dir, 'admin.token'))).mode & 0o777).toBe(0o600);
    expect(await store.findTokenByHash(hashTokenSecret(chosen))).toMatchObject({ role: 'admin' });
  });

  it('refuses a weak ECRON_ADMIN_TOKEN (under 32 characters, or with spaces) and creates nothing', async () => {
    for (const weak of ['short', '', 'a 20-character token', 'twenty-characters-01', 'x'.repeat(31), `${'x'.repeat(30)} has spaces`]) {
      const attempt = bootstrapAdminToken({ store, dataDir: dir, env: { ECRON_ADMIN_TOKEN: weak }, clock });
      await expect(attempt).rejects.toBeInstanceOf(EcronError);
      await expect(attempt).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('32-512 printable characters') });
    }
    expect(await store.countTokens()).toBe(0);
    await expect(stat(join(dir, 'admin.token'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('creates nothing when any token exists, even a revoked one', async () => {
    await bootstrapAdminToken({ store, dataDir: dir, env: {}, clock });
    const [admin] = await store.listTokens();
    await store.revokeToken({ id: admin!.id, at: clock.now(), audit: { actor: 'test', action: 'token.revoke' } });
    await rm(join(dir, 'admin.token'));
    expect(await bootstrapAdminToken({ store, dataDir: dir, env: {}, clock })).toEqual({ created: false });
    await expect(stat(join(dir, 'admin.token'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
