/**
 * A process embedding an executor with installSignalHandlers (for the SIGTERM test). Reads the
 * fake API's URL from ECRON_TEST_SERVER; prints "ready <address>" once started, "stopped" once
 * stopped; its one handler runs until aborted, then reports the abort reason.
 */
import { Executor, installSignalHandlers } from '../../src/index.ts';
import { FAKE_TOKEN } from './fake-ecron.ts';

const executor = new Executor({ server: process.env.ECRON_TEST_SERVER!, token: FAKE_TOKEN, group: 'billing', id: 'signal-child', shutdownGraceMs: 200 });
executor.handle('report', (ctx) => new Promise((resolve) => {
  ctx.signal.addEventListener('abort', () => resolve(`aborted: ${String(ctx.signal.reason)}`));
}));
executor.on('stopped', () => process.stdout.write('stopped\n'));
installSignalHandlers(executor);
await executor.start();
process.stdout.write(`ready ${executor.address}\n`);
