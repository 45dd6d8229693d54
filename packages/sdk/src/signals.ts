/** Graceful stop on SIGTERM and SIGINT. */
import type { Executor } from './executor.ts';

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * On the first SIGTERM or SIGINT, calls `executor.stop()` (once). When the stop is done, the
 * listeners are removed and the signal is raised again, so the process ends as it would have
 * without them (unless the application listens for it too). A second signal during the stop
 * does that at once: the runs still in flight are not handed back.
 *
 * Returns a function that removes the listeners.
 */
export function installSignalHandlers(executor: Executor): () => void {
  let received: NodeJS.Signals | null = null;
  const uninstall = () => {
    for (const signal of SIGNALS) process.off(signal, onSignal);
  };
  const reraise = (signal: NodeJS.Signals) => {
    uninstall();
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  function onSignal(signal: NodeJS.Signals): void {
    if (received) {
      executor.options.log('warn', `${signal} again: stopping now without waiting for runs`, {});
      reraise(signal);
      return;
    }
    received = signal;
    executor.options.log('info', `${signal}: stopping the executor`, { graceMs: executor.options.shutdownGraceMs });
    executor.stop().then(
      () => reraise(signal),
      (error: unknown) => {
        executor.options.log('error', 'the executor did not stop cleanly', { error: String(error) });
        reraise(signal);
      },
    );
  }
  for (const signal of SIGNALS) process.on(signal, onSignal);
  return uninstall;
}
