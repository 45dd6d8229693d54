/**
 * A real ecron server (api + scheduler, SQLite in a temporary data dir) in this process, for the
 * client and end-to-end tests, with an editor token created through the API.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startServer, type RunningServer } from '../../../server/src/server.ts';

export interface RealServer {
  url: string;
  admin: string;
  /** Secret of a token with role editor, all namespaces. */
  editor: string;
  /** Secret of a token with role viewer. */
  viewer: string;
  server: RunningServer;
  stop(): Promise<void>;
}

export async function startRealServer(): Promise<RealServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ecron-sdk-'));
  const server = await startServer({
    dataDir, port: 0, host: '127.0.0.1', roles: ['api', 'scheduler'], env: {},
    logger: pino({ level: process.env.ECRON_TEST_SERVER_LOG ?? 'silent' }),
    scheduler: { shutdownGraceMs: 500 },
  });
  const url = server.url.replace('localhost', '127.0.0.1');
  const admin = readFileSync(server.adminTokenPath ?? join(dataDir, 'admin.token'), 'utf8').trim();
  const token = async (role: string) => {
    const response = await fetch(`${url}/api/v1/tokens`, {
      method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: `${role}-sdk-test`, role }),
    });
    if (response.status !== 201) throw new Error(`token create failed: ${response.status} ${await response.text()}`);
    return ((await response.json()) as { secret: string }).secret;
  };
  return {
    url, admin, editor: await token('editor'), viewer: await token('viewer'), server,
    stop: async () => {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
