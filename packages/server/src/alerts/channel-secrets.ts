/**
 * A channel's secrets: what readers see of them, how an update that sends the masked values back
 * keeps the stored ones, and the signing secret a webhook channel is given when it names none.
 *
 * Masked ({@link ALERT_SECRET_MASK}): a webhook's `secret` and header values, an SMTP `password`,
 * Feishu's and DingTalk's signing `secret`, and the tokens in URLs (Slack's and Feishu's hook token,
 * the last path segment; DingTalk's `access_token` and WeCom's `key`, in the query; any URL's
 * password). Everything else (hosts, addresses, flags) is shown as stored.
 */
import { ALERT_SECRET_MASK, type AlertChannelSpec } from '@ecron/contracts';
import { newWebhookSecret } from '../events/sinks/webhook.ts';

type Channel = Pick<AlertChannelSpec, 'type' | 'config'>;
type Config = Record<string, unknown>;

/** The URL with its password, the query parameters named and (when `lastSegment`) the last path segment masked. */
export function maskUrl(url: string, options: { params?: readonly string[]; lastSegment?: boolean } = {}): string {
  if (!URL.canParse(url)) return url;
  const parsed = new URL(url);
  if (parsed.password) parsed.password = ALERT_SECRET_MASK;
  for (const param of options.params ?? []) if (parsed.searchParams.has(param)) parsed.searchParams.set(param, ALERT_SECRET_MASK);
  if (options.lastSegment && /[^/]$/.test(parsed.pathname)) parsed.pathname = parsed.pathname.replace(/[^/]+$/, ALERT_SECRET_MASK);
  return parsed.toString();
}

const URL_SECRETS: Record<AlertChannelSpec['type'], { params?: readonly string[]; lastSegment?: boolean } | null> = {
  webhook: {},
  email: null,
  slack: { lastSegment: true },
  feishu: { lastSegment: true },
  dingtalk: { params: ['access_token'] },
  wecom: { params: ['key'] },
};
/** Config fields holding a secret as a whole. */
const SECRET_FIELDS = ['secret', 'password'] as const;

/** The config as an API reader sees it: every secret {@link ALERT_SECRET_MASK}. */
export function maskAlertChannelConfig<T extends Channel>(channel: T): T['config'] {
  const config: Config = { ...(channel.config as Config) };
  for (const field of SECRET_FIELDS) if (typeof config[field] === 'string') config[field] = ALERT_SECRET_MASK;
  const urlSecrets = URL_SECRETS[channel.type];
  if (urlSecrets && typeof config.url === 'string') config.url = maskUrl(config.url, urlSecrets);
  if (channel.type === 'webhook' && config.headers) {
    config.headers = Object.fromEntries(Object.keys(config.headers as Config).map((name) => [name, ALERT_SECRET_MASK]));
  }
  return config as T['config'];
}

/**
 * The config of an update (`next`, not yet validated) with every value that reads as its mask
 * replaced by the stored one: a client that read a channel and sends it back changed no secret. A
 * URL is restored only when it is exactly the stored URL masked; a new URL keeps what it says.
 * A channel whose type changed keeps nothing of the stored one.
 */
export function restoreMaskedSecrets(next: { type: string; config: unknown }, stored: Channel): unknown {
  if (next.type !== stored.type || typeof next.config !== 'object' || next.config === null) return next.config;
  const config: Config = { ...(next.config as Config) };
  const old = stored.config as Config;
  for (const field of SECRET_FIELDS) if (config[field] === ALERT_SECRET_MASK && typeof old[field] === 'string') config[field] = old[field];
  const urlSecrets = URL_SECRETS[stored.type];
  if (urlSecrets && typeof old.url === 'string' && config.url === maskUrl(old.url, urlSecrets)) config.url = old.url;
  const headers = config.headers as Config | undefined;
  const oldHeaders = old.headers as Record<string, string> | undefined;
  if (headers && typeof headers === 'object' && oldHeaders) {
    config.headers = Object.fromEntries(Object.entries(headers).map(([name, value]) =>
      [name, value === ALERT_SECRET_MASK && name in oldHeaders ? oldHeaders[name] : value]));
  }
  return config;
}

/**
 * A webhook channel with no `secret` gets one (32 random bytes, base64url, as event webhooks); the
 * caller shows `generatedSecret` once, in the answer to the create. Other types are unchanged.
 */
export function withGeneratedSecret<T extends Channel>(channel: T): { channel: T; generatedSecret?: string } {
  if (channel.type !== 'webhook' || (channel.config as Config).secret) return { channel };
  const secret = newWebhookSecret();
  return { channel: { ...channel, config: { ...channel.config, secret } }, generatedSecret: secret };
}
