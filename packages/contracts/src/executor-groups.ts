/**
 * Executor group discovery (issue 20): besides the nodes that register themselves, an executor
 * group may have nodes found by a **static list** of base URLs or by a **DNS name** re-resolved
 * every `refreshMs` (A and AAAA records with a port and scheme, or SRV records that give host and
 * port). Each address found is one node of the group, spoken to with the per-run HTTP executor
 * protocol (docs/executor-protocol.md) and signed with the group's secret.
 *
 * `PUT /api/v1/executor-groups/{namespace}/{group}` stores a group's discovery; `GET` returns it
 * with what the serving node resolved. docs/executors.md "Discovery: static lists and DNS".
 */
import { z } from 'zod';
import { duration } from './duration.ts';
import { ExecutorGroupNameSchema } from './executors.ts';
import { NamespaceNameSchema } from './namespace.ts';
import { TaskLabelsSchema } from './task-spec.ts';

/** Most addresses of a static list. */
export const MAX_STATIC_ADDRESSES = 256;
/**
 * Longest static address: the node's id is `static:` and the address, and a run's attempt keeps
 * the id of the node it went to in a column of 255 characters.
 */
export const MAX_STATIC_ADDRESS_LENGTH = 240;
/** How often a DNS name is resolved again by default. */
export const DEFAULT_DNS_REFRESH_MS = 30_000;
/** How long the last good answer of a DNS name is kept, by default, while resolving it fails. */
export const DEFAULT_DNS_STALE_MS = 300_000;

/** The id of a discovered node: `static:` or `dns:` and its base URL. */
export const discoveredNodeId = (kind: 'static' | 'dns', address: string): string => `${kind}:${address}`;

const HOST_NAME = /^(?=.{1,253}\.?$)([A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?$/;

const baseUrl = z.string().max(MAX_STATIC_ADDRESS_LENGTH)
  .regex(/^https?:\/\/[^\s]+$/i, 'expected an http:// or https:// URL')
  .refine((value) => URL.canParse(value) && !new URL(value).username && !new URL(value).password && !new URL(value).hash,
    'not a valid URL (no user, password or #fragment)');

export const StaticDiscoverySchema = z.array(baseUrl).min(1, 'at least one address').max(MAX_STATIC_ADDRESSES)
  .refine((list) => new Set(list).size === list.length, 'an address is listed twice')
  .describe('the base URLs of executors speaking the per-run HTTP protocol, each one node');

export const DnsDiscoverySchema = z.strictObject({
  name: z.string().regex(HOST_NAME, 'expected a DNS name such as workers.svc.cluster.local')
    .describe('the name whose A and AAAA records (or SRV records, with srv) are the nodes'),
  port: z.number().int().min(1).max(65_535).optional().describe('the executors\' port; required unless srv (SRV records give it)'),
  scheme: z.enum(['http', 'https']).default('http'),
  path: z.string().max(128).regex(/^\/[^\s?#]*$/, 'expected a path starting with "/"').default('/')
    .describe('the path requests are sent to on each address; default "/"'),
  srv: z.boolean().default(false).describe('read SRV records of the name: each target\'s addresses, at the port the record gives'),
  refreshMs: duration({ min: 1000, max: 86_400_000 }).default(DEFAULT_DNS_REFRESH_MS)
    .describe(`how often the name is resolved again (milliseconds or "30s"); default ${DEFAULT_DNS_REFRESH_MS}`),
  staleMs: duration({ min: 0, max: 7 * 86_400_000 }).default(DEFAULT_DNS_STALE_MS)
    .describe(`while resolving fails, the last good answer is used this long; default ${DEFAULT_DNS_STALE_MS}`),
}).superRefine((dns, ctx) => {
  if (!dns.srv && dns.port === undefined) ctx.addIssue({ code: 'custom', path: ['port'], message: 'a port is required unless srv is true (SRV records give the port)' });
});

/** A group's discovery, as validated: a static list, or a DNS name with its defaults. */
export type GroupDiscovery = { static: string[] } | { dns: z.output<typeof DnsDiscoverySchema> };

/** Exactly one of `static` or `dns`. */
export const GroupDiscoverySchema = z.strictObject({
  static: StaticDiscoverySchema.optional(),
  dns: DnsDiscoverySchema.optional(),
}).superRefine((discovery, ctx) => {
  if ((discovery.static === undefined) === (discovery.dns === undefined)) {
    ctx.addIssue({ code: 'custom', message: 'expected exactly one of { "static": [URL, …] } and { "dns": { "name": …, "port": … } }' });
  }
}).transform((discovery): GroupDiscovery => (discovery.static !== undefined ? { static: discovery.static } : { dns: discovery.dns! }));
export type GroupDiscoveryInput = z.input<typeof GroupDiscoverySchema>;

/** The body of `PUT /api/v1/executor-groups/{namespace}/{group}`: the whole group, replaced. */
export const ExecutorGroupSpecSchema = z.strictObject({
  discovery: GroupDiscoverySchema,
  labels: TaskLabelsSchema.default({}).describe('labels of every discovered node, for routing selectors'),
  weight: z.number().int().min(1).max(1000).default(1).describe('weight of every discovered node in weighted routing, 1 to 1000'),
});
export type ExecutorGroupSpec = z.output<typeof ExecutorGroupSpecSchema>;
export type ExecutorGroupSpecInput = z.input<typeof ExecutorGroupSpecSchema>;

export const ExecutorGroupRefSchema = z.strictObject({
  namespace: NamespaceNameSchema.describe('the group\'s namespace'),
  group: ExecutorGroupNameSchema,
});

const instant = z.string().describe('ISO-8601 instant in UTC');

/** What the serving node found the last time it resolved the group. */
export const GroupDiscoveryStatusSchema = z.object({
  nodes: z.array(z.object({ id: z.string(), address: z.string() })).describe('the nodes in routing now, one per address'),
  resolvedAt: instant.nullable().describe('the last good answer (static lists: when the list was read)'),
  error: z.string().nullable().describe('why the last resolution failed, while it does'),
  stale: z.boolean().describe('the nodes are the last good answer, kept while resolving fails'),
});
export type GroupDiscoveryStatus = z.output<typeof GroupDiscoveryStatusSchema>;

export const ExecutorGroupResourceSchema = z.object({
  namespace: z.string(),
  group: z.string(),
  discovery: z.union([
    z.object({ static: z.array(z.string()) }),
    z.object({ dns: z.object({ name: z.string(), port: z.number().optional(), scheme: z.enum(['http', 'https']), path: z.string(), srv: z.boolean(), refreshMs: z.number(), staleMs: z.number() }) }),
  ]),
  labels: z.record(z.string(), z.string()),
  weight: z.number(),
  createdAt: instant,
  updatedAt: instant,
  status: GroupDiscoveryStatusSchema.nullable().describe('as the node that answers resolved it; null when it has not yet'),
});
export type ExecutorGroupResource = z.output<typeof ExecutorGroupResourceSchema>;

export const ExecutorGroupListSchema = z.object({ items: z.array(ExecutorGroupResourceSchema) });
export type ExecutorGroupList = z.output<typeof ExecutorGroupListSchema>;

/** The answer to a PUT: the group, and its signing secret (the executors at its addresses verify requests with it). */
export const ExecutorGroupWriteSchema = z.object({
  group: ExecutorGroupResourceSchema,
  secret: z.string().describe('the group\'s HMAC secret (x-ecron-signature): configure the executors at the group\'s addresses with it'),
});
export type ExecutorGroupWrite = z.output<typeof ExecutorGroupWriteSchema>;
