/** `/healthz` (the process is serving) and `/readyz` (the scheduler is ready and the store answers). */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { EcronError } from '../../core/errors.ts';
import type { RunControl } from '../../scheduler/run-control.ts';
import type { Store } from '../../store/store.ts';
import { ERROR_RESPONSES } from '../schemas.ts';

const tags = ['health'];

export const healthRoutes: FastifyPluginAsyncZod<{ store: Store; control: RunControl }> = async (app, { store, control }) => {
  app.get('/healthz', {
    config: { access: 'public', requestLog: 'debug' },
    schema: { summary: 'Liveness: 200 once the server is serving', tags, response: { 200: z.object({ status: z.literal('ok') }) } },
  }, async () => ({ status: 'ok' as const }));

  app.get('/readyz', {
    config: { access: 'public', requestLog: 'debug' },
    schema: {
      summary: 'Readiness: 200 when the scheduler is ready and the store answers, else 503', tags,
      response: { 200: z.object({ status: z.literal('ready') }), ...ERROR_RESPONSES },
    },
  }, async () => {
    if (!control.ready) throw new EcronError('NOT_READY', 'the scheduler is not ready yet');
    try {
      await store.now();
    } catch (error) {
      throw new EcronError('STORE_UNAVAILABLE', `the store does not answer: ${(error as Error).message}`);
    }
    return { status: 'ready' as const };
  });
};
