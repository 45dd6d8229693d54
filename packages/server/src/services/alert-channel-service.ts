/**
 * Alert channels (issue 19): the operations behind `/api/v1/alert-channels`. An editor (or admin)
 * of a namespace manages its channels and sends their tests; a viewer reads them. Every reader
 * sees the secrets masked (`alerts/channel-secrets.ts`); a webhook channel given no secret gets
 * one, shown once in the answer to the write that made it. An update may send back a channel as
 * it was read: masked values keep the stored secrets, and read-only fields are ignored.
 *
 * "Send a test" sends through `AlertChannelSenders.sendTest` from the node serving the request,
 * once and at once, and records the outcome as the channel's last send or last error.
 */
import { AlertChannelSpecSchema, type AlertChannelSpec } from '@ecron/contracts';
import { maskAlertChannelConfig, restoreMaskedSecrets, withGeneratedSecret } from '../alerts/channel-secrets.ts';
import { AlertChannelError } from '../alerts/channels/channel-error.ts';
import type { AlertChannelTarget } from '../alerts/channels/channel-sender.ts';
import type { AlertChannelSenders } from '../alerts/channels/senders.ts';
import type { Clock } from '../core/clock.ts';
import { EcronError } from '../core/errors.ts';
import { newId } from '../core/ids.ts';
import type { OutboundPolicies } from '../dispatch/outbound-policy.ts';
import type { AlertChannelRecord } from '../store/alerts-config.ts';
import type { Page, Store } from '../store/store.ts';
import { checkNamespaceAccess, namespaceFilter, type Caller } from './access.ts';
import { validationError } from './task-spec-input.ts';

export interface AlertChannelWrite {
  channel: AlertChannelRecord;
  /** A webhook's signing secret made by this write: shown this once. */
  generatedSecret?: string;
}

export interface AlertChannelService {
  create(caller: Caller, spec: AlertChannelSpec): Promise<AlertChannelWrite>;
  list(caller: Caller, p: { namespace?: string; cursor?: string; limit: number }): Promise<Page<AlertChannelRecord>>;
  get(caller: Caller, id: string): Promise<AlertChannelRecord>;
  /** `body`: the whole channel as `create` takes it (not yet validated); masked secrets keep the stored ones. */
  update(caller: Caller, id: string, body: unknown): Promise<AlertChannelWrite>;
  delete(caller: Caller, id: string): Promise<void>;
  /** Sends a test notification now; throws ALERT_CHANNEL_FAILED when the receiver does not accept it. */
  test(caller: Caller, id: string): Promise<AlertChannelRecord>;
  /** The config as readers see it: every secret masked. */
  visibleConfig(channel: AlertChannelRecord): Record<string, unknown>;
}

export interface AlertChannelServiceDeps {
  store: Store;
  clock: Clock;
  /** The senders (the namespaces' outbound policies are theirs). */
  senders: AlertChannelSenders;
  /** The outbound policy of each namespace: an address it denies is refused at create and update. */
  outbound: OutboundPolicies;
}

/** Fields of a channel as read that an update ignores. */
const READ_ONLY_FIELDS = ['id', 'lastError', 'lastErrorAt', 'lastSentAt', 'createdAt', 'updatedAt'];

const notFound = (id: string) => new EcronError('ALERT_CHANNEL_NOT_FOUND', `no alert channel ${id}`, { id });

/** The channel as senders take it (its config was validated when it was written). */
export function channelTarget(channel: AlertChannelRecord): AlertChannelTarget {
  const { namespace, name, type, config, locale } = channel;
  return { namespace, name, type, config, locale } as unknown as AlertChannelTarget;
}

/** A body without its read-only fields and with its null fields left out (as if absent). */
export function writableFields(body: unknown, readOnly: readonly string[]): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new EcronError('VALIDATION_FAILED', 'the body must be a JSON object', { issues: [{ path: '', code: 'INVALID_TYPE', message: 'the body must be a JSON object' }] });
  }
  return Object.fromEntries(Object.entries(body).filter(([key, value]) => !readOnly.includes(key) && value !== null));
}

/** VALIDATION_FAILED when an update names another namespace than the resource's. */
export function sameNamespace(fields: Record<string, unknown>, namespace: string, what: string): void {
  if (fields.namespace === undefined || fields.namespace === namespace) return;
  const message = `${what} cannot move to another namespace (it is in ${JSON.stringify(namespace)}): create it there and delete this one`;
  throw new EcronError('VALIDATION_FAILED', `namespace: ${message}`, { issues: [{ path: 'namespace', code: 'INVALID_VALUE', message }] });
}

export function createAlertChannelService(deps: AlertChannelServiceDeps): AlertChannelService {
  const { store, clock } = deps;

  async function load(caller: Caller, id: string, needed: 'viewer' | 'editor'): Promise<AlertChannelRecord> {
    const channel = await store.getAlertChannel(id);
    if (!channel) throw notFound(id);
    checkNamespaceAccess(caller, channel.namespace, needed, () => notFound(id));
    return channel;
  }

  /** The spec with a webhook's secret made if missing; OUTBOUND_DENIED for an address the namespace may not call. */
  function prepare(spec: AlertChannelSpec): { spec: AlertChannelSpec; generatedSecret?: string } {
    const { channel, generatedSecret } = withGeneratedSecret(spec);
    const policy = deps.outbound.of(channel.namespace);
    if (channel.type === 'email') {
      const denied = policy.checkHost(channel.config.host);
      if (denied) throw new EcronError('OUTBOUND_DENIED', `${denied}: the SMTP server ${channel.config.host} is not called`, { issues: [{ path: 'config.host', code: 'OUTBOUND_DENIED', message: denied }] });
    } else {
      policy.assertUrl(channel.config.url);
    }
    return { spec: channel, ...(generatedSecret === undefined ? {} : { generatedSecret }) };
  }

  const written = (channel: AlertChannelRecord, generatedSecret: string | undefined): AlertChannelWrite =>
    ({ channel, ...(generatedSecret === undefined ? {} : { generatedSecret }) });

  return {
    async create(caller, input) {
      checkNamespaceAccess(caller, input.namespace, 'editor', () => new EcronError('FORBIDDEN', `this token may not manage namespace ${JSON.stringify(input.namespace)}`));
      const { spec, generatedSecret } = prepare(input);
      const now = clock.now();
      const channel = await store.createAlertChannel({
        channel: {
          id: newId(), namespace: spec.namespace, name: spec.name, type: spec.type, config: spec.config, locale: spec.locale,
          description: spec.description ?? null, lastError: null, lastErrorAt: null, lastSentAt: null, createdAt: now, updatedAt: now,
        },
        audit: { actor: caller.actor, action: 'alert-channel.create', details: { namespace: spec.namespace, name: spec.name, type: spec.type } },
      });
      return written(channel, generatedSecret);
    },

    list(caller, p) {
      return store.listAlertChannels({ namespaces: namespaceFilter(caller, 'viewer'), limit: p.limit, cursor: p.cursor ?? null, ...(p.namespace ? { namespace: p.namespace } : {}) });
    },

    get: (caller, id) => load(caller, id, 'viewer'),

    async update(caller, id, body) {
      const stored = await load(caller, id, 'editor');
      const fields = writableFields(body, READ_ONLY_FIELDS);
      sameNamespace(fields, stored.namespace, 'an alert channel');
      const next: Record<string, unknown> = { ...fields, namespace: stored.namespace };
      if (typeof next.type === 'string') next.config = restoreMaskedSecrets({ type: next.type, config: next.config }, channelTarget(stored));
      const parsed = AlertChannelSpecSchema.safeParse(next);
      if (!parsed.success) throw validationError(parsed.error);
      const { spec, generatedSecret } = prepare(parsed.data);
      const channel = await store.updateAlertChannel({
        id, at: clock.now(),
        changes: { name: spec.name, type: spec.type, config: spec.config, locale: spec.locale, description: spec.description ?? null },
        audit: { actor: caller.actor, action: 'alert-channel.update', details: { name: spec.name, type: spec.type } },
      });
      if (!channel) throw notFound(id);
      return written(channel, generatedSecret);
    },

    async delete(caller, id) {
      await load(caller, id, 'editor');
      if (!(await store.deleteAlertChannel({ id, at: clock.now(), audit: { actor: caller.actor, action: 'alert-channel.delete' } }))) throw notFound(id);
    },

    async test(caller, id) {
      const channel = await load(caller, id, 'editor');
      let failure: AlertChannelError | null = null;
      try {
        await deps.senders.sendTest(channelTarget(channel));
      } catch (error) {
        if (!(error instanceof AlertChannelError)) throw error;
        failure = error;
      }
      const at = clock.now();
      await store.recordAlertChannelResult({ id, at, error: failure ? failure.message : null });
      await store.appendAudit({
        id: newId(), at, actor: caller.actor, action: 'alert-channel.test', resourceType: 'alert-channel', resourceId: id,
        details: failure ? { ok: false, error: failure.message, reason: failure.details.reason } : { ok: true },
      });
      if (failure) throw failure;
      return (await store.getAlertChannel(id)) ?? channel;
    },

    visibleConfig: (channel) => maskAlertChannelConfig(channelTarget(channel)),
  };
}
