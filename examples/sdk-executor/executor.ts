/**
 * An executor service embedding the SDK (the README's example): joins group "billing", serves the
 * handler "report", and declares its own sharded task "nightly".
 *
 *   ECRON_TOKEN=$(cat .ecron/admin.token) npx node examples/sdk-executor/executor.ts   (Node 24: the system node may be older)
 */
import { Executor, installSignalHandlers } from '@ecron/sdk';

const executor = new Executor({ server: process.env.ECRON_SERVER ?? 'http://127.0.0.1:7070', token: process.env.ECRON_TOKEN!, group: 'billing' });
executor.handle('report', async (ctx) => {
  ctx.log(`shard ${ctx.shard.index} of ${ctx.shard.total}`);
  return { rows: 42 };
});
executor.task('nightly', { schedule: { cron: '0 30 2 * * *' }, routing: { sharding: { total: 8 } } }, async () => ({ ok: true }));
installSignalHandlers(executor);
await executor.start();
console.log(`executor ${executor.address} in group billing`);
