/** The public surface as users write it (the README's examples), checked by tsc and vitest. */
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  EcronApiError, EcronClient, Executor, ExecutorError, installSignalHandlers,
  type AbortReason, type DetachedRun, type HandlerContext, type RunOutcome,
} from '../src/index.ts';

declare function buildReport(params: unknown, options: { signal: AbortSignal }): Promise<number>;
declare const queue: { submit(params: unknown, done: (error: Error | null, result?: unknown) => void): void };

/** The README's example, compiled (not run: it would need a server). */
function readmeExample(): Executor {
  const executor = new Executor({ server: 'http://127.0.0.1:7070', token: 'token', group: 'billing' });
  executor.task('nightly-report', { schedule: { cron: '0 30 2 * * *', timezone: 'Asia/Shanghai' }, timeoutMs: '10m' }, async (ctx) => {
    ctx.log(`report for ${ctx.scheduledAt.toISOString()}`);
    const rows = await buildReport(ctx.params, { signal: ctx.signal });
    ctx.progress(100);
    return { rows };
  });
  executor.handle('import', (ctx) => {
    const job = ctx.detach();
    queue.submit(ctx.params, (error, result) => (error ? job.fail(error) : job.succeed(result)));
  });
  installSignalHandlers(executor);
  return executor;
}

describe('public types', () => {
  it('types the handler context and the chainable declarations', () => {
    expectTypeOf(readmeExample).returns.toEqualTypeOf<Executor>();
    expectTypeOf<HandlerContext['scheduledAt']>().toEqualTypeOf<Date>();
    expectTypeOf<HandlerContext['deadline']>().toEqualTypeOf<Date | null>();
    expectTypeOf<HandlerContext['signal']>().toEqualTypeOf<AbortSignal>();
    expectTypeOf<ReturnType<HandlerContext['detach']>>().toEqualTypeOf<DetachedRun>();
    expectTypeOf<AbortReason>().toEqualTypeOf<'cancelled' | 'deadline' | 'connection-closed' | 'shutdown'>();
    expectTypeOf<RunOutcome['status']>().toEqualTypeOf<'succeeded' | 'failed'>();
    const typed = new Executor({ server: 'http://127.0.0.1:7070', token: 't', group: 'g' })
      .handle<{ day: string }, { ok: boolean }>('typed', (ctx) => {
        expectTypeOf(ctx.params.day).toEqualTypeOf<string>();
        return { ok: true };
      });
    expectTypeOf(typed).toEqualTypeOf<Executor>();
    expectTypeOf(typed.address).toEqualTypeOf<string | null>();
    expectTypeOf(typed.inflight).toEqualTypeOf<number>();
  });

  it('types the client\'s answers', () => {
    const client = new EcronClient({ server: 'http://127.0.0.1:7070', token: 't' });
    expectTypeOf(client.tasks.get).returns.resolves.toHaveProperty('spec');
    expectTypeOf(client.runs.list).returns.resolves.toHaveProperty('nextCursor');
    expectTypeOf(client.runs.logs).returns.resolves.toHaveProperty('nextSeq');
    expectTypeOf(client.tasks.delete).returns.resolves.toEqualTypeOf<void>();
  });

  it('keeps instanceof working for errors from another copy of the package', () => {
    const foreign = Object.assign(Object.create(Error.prototype), { [Symbol.for('@ecron/sdk/EcronApiError')]: true, code: 'X' });
    expect(foreign).toBeInstanceOf(EcronApiError);
    expect(new Error('plain')).not.toBeInstanceOf(EcronApiError);
    expect(new ExecutorError('HANDLER_INVALID', 'x')).toBeInstanceOf(ExecutorError);
    expect(new ExecutorError('HANDLER_INVALID', 'x')).not.toBeInstanceOf(EcronApiError);
  });
});
