/**
 * The data dir is private (issue 17, F4): the audit found ecron.db and its WAL created 0644 under
 * a umask of 022, so any local user could read group secrets and target credentials. The real
 * server, started here under umask 022 in a directory made 0755, leaves the directory 0700 and
 * every file in it 0600, after start and after writes, and narrows what an older version left.
 */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../src/server.ts';

const ADMIN = 'ecr_data_dir_permissions_admin_0123456789';
let umask: number;
let root: string;
let server: RunningServer | null = null;
beforeAll(() => {
  umask = process.umask(0o022);
  root = mkdtempSync(join(tmpdir(), 'ecron-private-'));
});
afterAll(() => {
  process.umask(umask);
  rmSync(root, { recursive: true, force: true });
});
afterEach(async () => {
  await server?.stop();
  server = null;
});

/** Each entry of `dir` with its permission bits, e.g. `ecron.db 600`. */
function modes(dir: string): string[] {
  return readdirSync(dir).sort().map((name) => `${name} ${(statSync(join(dir, name)).mode & 0o777).toString(8)}`);
}
const dirMode = (dir: string) => (statSync(dir).mode & 0o777).toString(8);

async function start(dataDir: string, storeUrl?: string): Promise<RunningServer> {
  server = await startServer({
    dataDir, port: 0, host: '127.0.0.1', roles: ['api', 'scheduler'], logger: pino({ level: 'silent' }),
    env: { ECRON_ADMIN_TOKEN: ADMIN }, consoleDir: join(root, 'no-console'), ...(storeUrl ? { storeUrl } : {}),
  });
  return server;
}

/** A write through the API: a task whose target carries a credential, as in the audit. */
async function createTask(running: RunningServer, name: string): Promise<void> {
  const res = await fetch(`${running.url}/api/v1/tasks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name, schedule: { manual: true }, target: { type: 'http', url: 'http://127.0.0.1:9/run', headers: { authorization: 'Bearer target-credential' } } }),
  });
  expect(res.status).toBe(201);
}

describe('the data dir', () => {
  it('is 0700 with every file 0600 after start and after writes, under umask 022, though it existed 0755', async () => {
    const dataDir = join(root, 'fresh');
    mkdirSync(dataDir, { mode: 0o755 });
    expect(dirMode(dataDir)).toBe('755');

    const running = await start(dataDir);
    expect(dirMode(dataDir)).toBe('700');
    const files = modes(dataDir);
    expect(files).toEqual(expect.arrayContaining(['admin.token 600', 'callback.key 600', 'ecron.db 600', 'signing.key 600']));
    expect(files.every((f) => f.endsWith(' 600')), files.join(', ')).toBe(true);

    await createTask(running, 'with-credentials');
    expect(modes(dataDir)).toContain('ecron.db-wal 600');
    expect(modes(dataDir).every((f) => f.endsWith(' 600')), modes(dataDir).join(', ')).toBe(true);
  });

  it('narrows a data dir, a store and a WAL that an older version left readable, at the next start', async () => {
    const dataDir = join(root, 'upgraded');
    await createTask(await start(dataDir), 'before-upgrade');
    await server!.stop();
    server = null;
    // As an older version left them: the store 0644, and its WAL 0644 after a crash.
    chmodSync(dataDir, 0o755);
    chmodSync(join(dataDir, 'ecron.db'), 0o644);
    writeFileSync(join(dataDir, 'ecron.db-wal'), '', { mode: 0o644 });
    chmodSync(join(dataDir, 'ecron.db-wal'), 0o644);

    const running = await start(dataDir);
    expect(dirMode(dataDir)).toBe('700');
    expect(modes(dataDir)).toEqual(expect.arrayContaining(['ecron.db 600', 'ecron.db-wal 600']));
    await createTask(running, 'after-upgrade');
    expect(modes(dataDir).every((f) => f.endsWith(' 600')), modes(dataDir).join(', ')).toBe(true);
    expect((await running.store.listTasks({ limit: 10 })).items.map((t) => t.name).sort()).toEqual(['after-upgrade', 'before-upgrade']);
  });

  it('gives a store kept outside the data dir (--store sqlite:PATH) mode 0600 too', async () => {
    const elsewhere = join(root, 'elsewhere');
    mkdirSync(elsewhere, { mode: 0o755 });
    const running = await start(join(root, 'with-outside-store'), `sqlite:${join(elsewhere, 'tasks.db')}`);
    await createTask(running, 'outside');
    expect(modes(elsewhere)).toEqual(['tasks.db 600', 'tasks.db-wal 600']);
  });
});
