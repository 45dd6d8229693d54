/** `/api/v1/nodes`: the scheduler nodes of the cluster, their buckets, leases and heartbeats. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { NodeList } from '@ecron/contracts';
import { BUCKET_COUNT } from '../../core/buckets.ts';
import { clusterTzVersion } from '../../core/cluster-tz-version.ts';
import type { Store } from '../../store/store.ts';
import { BEARER_SECURITY } from '../auth.ts';
import { ERROR_RESPONSES, NodeListSchema } from '../schemas.ts';

const iso = (ms: number): string => new Date(ms).toISOString();

/** The node list as of the store's clock: live nodes first, then the dead ones not yet forgotten. */
export async function listNodes(store: Store): Promise<NodeList> {
  const [now, nodes, leases] = await Promise.all([store.now(), store.listNodes(), store.listBucketLeases()]);
  const live = leases.filter((lease) => lease.expiresAt > now);
  const items = nodes.map((node) => {
    const held = live.filter((lease) => lease.owner === node.id);
    return {
      id: node.id, address: node.address, roles: node.roles, version: node.version, tzVersion: node.tzVersion,
      startedAt: iso(node.startedAt), heartbeatAt: iso(node.heartbeatAt), expiresAt: iso(node.expiresAt), alive: node.expiresAt > now,
      buckets: held.map((lease) => lease.bucket),
      leaseExpiresAt: held.length === 0 ? null : iso(Math.min(...held.map((lease) => lease.expiresAt))),
    };
  }).sort((a, b) => Number(b.alive) - Number(a.alive) || a.id.localeCompare(b.id));
  const clusterTz = clusterTzVersion(nodes.filter((node) => node.expiresAt > now));
  return { items, buckets: { total: BUCKET_COUNT, unowned: BUCKET_COUNT - live.length }, clusterTzVersion: clusterTz };
}

export const nodeRoutes: FastifyPluginAsyncZod<{ store: Store }> = async (app, { store }) => {
  app.get('/nodes', {
    // An executor token too: the SDK's pull and stream executors find the cluster's API nodes here.
    config: { access: 'authenticated' },
    schema: {
      summary: 'List the cluster\'s nodes with their buckets, lease expiry and last heartbeat', tags: ['cluster'], security: BEARER_SECURITY,
      response: { 200: NodeListSchema, ...ERROR_RESPONSES },
    },
  }, async () => listNodes(store));
};
