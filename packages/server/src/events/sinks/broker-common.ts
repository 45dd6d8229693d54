/**
 * What the broker sinks share (issue 18): masking the credentials of a broker URL, naming an
 * event's subject / routing key / topic, bounding a wait, and telling which broker failed.
 */

/** What a masked secret reads. */
export const BROKER_SECRET_MASK = '***';

/** `scheme://userinfo@` at the start of a URL or after a comma (a NATS server list). */
const USERINFO = /(^|,)(\s*[a-z][a-z0-9+.-]*:\/\/)([^@/?#,]*)@/gi;
/** Query parameters that carry a secret (`?password=…`). */
const SECRET_PARAM = /([?&](?:password|pass|token|secret)=)[^&#,]*/gi;

/**
 * `url` with its password masked (`redis://user:***@host`), and any secret query parameter. A
 * user name with no password is masked too when `userIsSecret` (a NATS token, or a Redis URL's
 * lone password, which some clients accept as `redis://secret@host`).
 */
export function maskUrl(url: string, userIsSecret = false): string {
  return url
    .replace(USERINFO, (_all, lead: string, scheme: string, info: string) => {
      const colon = info.indexOf(':');
      if (colon >= 0) return `${lead}${scheme}${info.slice(0, colon)}:${BROKER_SECRET_MASK}@`;
      return `${lead}${scheme}${userIsSecret && info !== '' ? BROKER_SECRET_MASK : info}@`;
    })
    .replace(SECRET_PARAM, `$1${BROKER_SECRET_MASK}`);
}

/** `pattern` with every `{type}` replaced by the event's type. */
export const withType = (pattern: string, type: string): string => pattern.replaceAll('{type}', type);

/** The subjects a created stream captures: `{type}` as a last token becomes `>`. */
export function natsStreamSubjects(subject: string): string[] {
  if (!subject.includes('{type}')) return [subject];
  if (subject.endsWith('.{type}') && !subject.slice(0, -'{type}'.length).includes('{type}')) return [`${subject.slice(0, -'{type}'.length)}>`];
  if (subject === '{type}') return ['>'];
  throw new Error(`cannot derive the subjects of stream from "${subject}": {type} must be the subject's last token, or create the stream yourself`);
}

/** Default wait for a connection or an acknowledgement. */
export const DEFAULT_BROKER_TIMEOUT_MS = 10_000;

export interface BrokerSinkOptions {
  /** How long a connection, or the acknowledgements of one delivery, may take. @default 10000 */
  timeoutMs?: number;
}

/** Resolves as `work` does, or rejects with `message` after `ms`. */
export async function within<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** An error saying which broker (type and masked URL) failed at what, keeping the cause. */
export function brokerError(broker: string, url: string, what: string, cause: unknown): Error {
  const reason = cause instanceof Error ? cause.message || String((cause as { code?: unknown }).code ?? cause.name) : String(cause);
  return new Error(`${broker} sink (${url}): ${what}: ${reason}`, { cause });
}

/**
 * One connection, opened when first needed and again after it failed or was dropped. Concurrent
 * callers share one attempt; a connection that opens after `close` is released at once.
 */
export class LazyConnection<C> {
  readonly #open: () => Promise<C>;
  readonly #alive: (c: C) => boolean;
  readonly #release: (c: C) => Promise<void>;
  #current: C | null = null;
  #opening: Promise<C> | null = null;
  #closed = false;

  constructor(open: () => Promise<C>, alive: (c: C) => boolean, release: (c: C) => Promise<void>) {
    this.#open = open;
    this.#alive = alive;
    this.#release = release;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The open connection, or a new one. */
  async get(): Promise<C> {
    if (this.#closed) throw new Error('closed');
    const current = this.#current;
    if (current !== null && this.#alive(current)) return current;
    if (current !== null) await this.drop();
    this.#opening ??= this.#open()
      .then(async (c) => {
        if (this.#closed) {
          await this.#release(c).catch(() => {});
          throw new Error('closed');
        }
        this.#current = c;
        return c;
      })
      .finally(() => {
        this.#opening = null;
      });
    return this.#opening;
  }

  /** Releases the connection (after a failure): the next {@link get} opens another. */
  async drop(): Promise<void> {
    const current = this.#current;
    this.#current = null;
    if (current !== null) await this.#release(current).catch(() => {});
  }

  /** Releases the connection for good. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.drop();
  }
}
