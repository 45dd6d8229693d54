/**
 * The channel form's model and its mapping to the body of `POST`/`PUT /api/v1/alert-channels`.
 * Field names follow the body's paths (`config.url`, `config.to`), so the API's field issues land
 * on their fields. An edit starts from the channel as read, its secrets "***": sent back as they
 * are, they keep the stored values (docs/alerts.md "Secrets and masking").
 */
import { parseJsonObject } from '../spec.ts';
import type { AlertChannelResource, AlertChannelType, AlertLocale } from './types.ts';

export interface ChannelConfigValues {
  url?: string;
  secret?: string;
  /** A webhook's extra headers as a JSON object. */
  headers?: string;
  timeoutMs?: number | null;
  host?: string;
  port?: number | null;
  secure?: boolean;
  requireTLS?: boolean;
  ignoreTLS?: boolean;
  rejectUnauthorized?: boolean;
  user?: string;
  password?: string;
  from?: string;
  to?: string[];
}
export type ChannelConfigField = keyof ChannelConfigValues;

export interface ChannelFormValues {
  namespace: string;
  name: string;
  description?: string;
  type: AlertChannelType;
  locale: AlertLocale;
  config: ChannelConfigValues;
}

/** The config fields of each type, in the form's order (packages/contracts/src/alerts.ts). */
export const CHANNEL_FIELDS: Record<AlertChannelType, ChannelConfigField[]> = {
  webhook: ['url', 'secret', 'headers', 'timeoutMs'],
  email: ['host', 'port', 'secure', 'requireTLS', 'ignoreTLS', 'rejectUnauthorized', 'user', 'password', 'from', 'to', 'timeoutMs'],
  slack: ['url', 'timeoutMs'],
  feishu: ['url', 'secret', 'timeoutMs'],
  dingtalk: ['url', 'secret', 'timeoutMs'],
  wecom: ['url', 'timeoutMs'],
};

/** The e-mail switches and their defaults. */
export const EMAIL_SWITCHES = { secure: false, requireTLS: false, ignoreTLS: false, rejectUnauthorized: true } as const;

export function emptyChannelForm(namespace: string): ChannelFormValues {
  return { namespace, name: '', description: '', type: 'webhook', locale: 'en', config: { ...EMAIL_SWITCHES, to: [] } };
}

/** A channel as read, in the form. */
export function channelToForm(channel: AlertChannelResource): ChannelFormValues {
  const { headers, ...config } = channel.config as ChannelConfigValues & { headers?: Record<string, string> };
  return {
    namespace: channel.namespace, name: channel.name, description: channel.description ?? '', type: channel.type, locale: channel.locale,
    config: { ...EMAIL_SWITCHES, to: [], ...config, ...(headers && Object.keys(headers).length ? { headers: JSON.stringify(headers, null, 2) } : {}) },
  };
}

const present = (value: unknown) => value !== undefined && value !== null && !(typeof value === 'string' && value.trim() === '')
  && !(Array.isArray(value) && value.length === 0);

/** The body of a create or an update: the type's fields only, empty ones left out. Throws when the headers are not a JSON object. */
export function channelBody(values: ChannelFormValues): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  for (const field of CHANNEL_FIELDS[values.type]) {
    const value = values.config[field];
    if (field === 'headers') {
      const headers = parseJsonObject(values.config.headers, 'headers');
      if (headers && Object.keys(headers).length) config.headers = headers;
    } else if (typeof value === 'string') {
      if (value.trim()) config[field] = value.trim();
    } else if (present(value)) {
      config[field] = value;
    }
  }
  const description = values.description?.trim();
  return {
    namespace: values.namespace.trim(), name: values.name.trim(), type: values.type, locale: values.locale, config,
    ...(description ? { description } : {}),
  };
}

/** The form field an API issue path names (`config.to[1]` → the recipients), or null when the form has none. */
export function channelFieldOf(path: string): string[] | null {
  const parts = path.replace(/\[[^\]]*\]/g, '').split('.').filter(Boolean);
  if (parts.length === 0) return null;
  if (parts[0] === 'config') {
    const field = parts[1] as ChannelConfigField | undefined;
    return field && Object.values(CHANNEL_FIELDS).some((fields) => fields.includes(field)) ? ['config', field] : null;
  }
  return ['namespace', 'name', 'description', 'type', 'locale'].includes(parts[0]!) ? [parts[0]!] : null;
}
