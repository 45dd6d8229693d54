/**
 * Receivers for the alert channel tests, run by the tests themselves on 127.0.0.1, port 0:
 * - {@link HttpReceiver}: keeps every request and answers what its `answer` function says (or
 *   never, to test timeouts); the platform receivers in the tests verify signatures with their own
 *   code, not the senders';
 * - {@link SmtpReceiver}: a real `smtp-server`, with optional login and STARTTLS, that keeps every
 *   message with its envelope and whether the session was under TLS;
 * - {@link parseMail}: enough MIME to read a subject (RFC 2047 words) and the text and HTML parts
 *   (quoted-printable or base64) of what nodemailer sends.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

export interface ReceivedRequest {
  method: string;
  /** Path and query, as sent. */
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export type Answer = { status: number; body: string | object } | 'hang';

export class HttpReceiver {
  readonly requests: ReceivedRequest[] = [];
  answer: (request: ReceivedRequest) => Answer = () => ({ status: 200, body: 'ok' });
  #server: Server | null = null;
  origin = '';

  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const request = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
        this.requests.push(request);
        const answer = this.answer(request);
        if (answer === 'hang') return;
        const body = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
        res.writeHead(answer.status, { 'content-type': typeof answer.body === 'string' ? 'text/plain' : 'application/json' }).end(body);
      });
    });
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    this.origin = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise((resolve) => this.#server?.close(resolve));
  }
}

export interface ReceivedMail {
  from: string;
  to: string[];
  /** The session was under TLS (implicit, or upgraded by STARTTLS). */
  secure: boolean;
  user: string | undefined;
  raw: string;
}

export class SmtpReceiver {
  readonly mails: ReceivedMail[] = [];
  /** Connections seen (a denied send must make none). */
  connections = 0;
  port = 0;
  #server: SMTPServer | null = null;

  /** `credentials`: the one login accepted (required when given). */
  async start(options: { secure?: boolean; starttls?: boolean; credentials?: { user: string; password: string } } = {}): Promise<this> {
    const { credentials } = options;
    const config: SMTPServerOptions = {
      secure: options.secure ?? false,
      disabledCommands: [...(options.starttls || options.secure ? [] : ['STARTTLS']), ...(credentials ? [] : ['AUTH'])],
      authOptional: !credentials,
      allowInsecureAuth: true,
      logger: false,
      onConnect: (_session, callback) => {
        this.connections++;
        callback();
      },
      onAuth: (auth, _session, callback) => {
        if (credentials && auth.username === credentials.user && auth.password === credentials.password) return callback(null, { user: auth.username });
        callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          this.mails.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            secure: session.secure,
            user: session.user as string | undefined,
            raw: Buffer.concat(chunks).toString('utf8'),
          });
          callback();
        });
      },
    };
    this.#server = new SMTPServer(config);
    this.#server.on('error', () => {}); // a client dropping the connection (refused certificate) is no failure here
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server.server, 'listening');
    this.port = (this.#server.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()));
  }
}

/** Decodes RFC 2047 encoded words (`=?UTF-8?B?…?=`, `=?UTF-8?Q?…?=`). */
export function decodeWords(value: string): string {
  return value.replace(/\?=\s+=\?/g, '?==?').replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_, _charset: string, encoding: string, text: string) =>
    (encoding.toUpperCase() === 'B'
      ? Buffer.from(text, 'base64').toString('utf8')
      : decodeQuotedPrintable(text.replace(/_/g, ' '))));
}

function decodeQuotedPrintable(text: string): string {
  const bytes: number[] = [];
  const flat = text.replace(/=\r?\n/g, '');
  for (let i = 0; i < flat.length; i++) {
    if (flat[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(flat.slice(i + 1, i + 3))) {
      bytes.push(parseInt(flat.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(flat[i]!, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function parseHeaders(block: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of block.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

export interface ParsedMail {
  headers: Map<string, string>;
  subject: string;
  text: string;
  html: string;
}

/** The subject and the text/plain and text/html parts of a message (one level of multipart, as nodemailer sends text + html). */
export function parseMail(raw: string): ParsedMail {
  const split = raw.search(/\r?\n\r?\n/);
  const headers = parseHeaders(raw.slice(0, split));
  const body = raw.slice(split).replace(/^\r?\n\r?\n/, '');
  const parts: { type: string; content: string }[] = [];
  const boundary = /boundary="?([^";]+)"?/.exec(headers.get('content-type') ?? '')?.[1];
  const decodePart = (partHeaders: Map<string, string>, content: string) => {
    const encoding = (partHeaders.get('content-transfer-encoding') ?? '7bit').toLowerCase();
    const text = encoding === 'base64' ? Buffer.from(content.replace(/\s+/g, ''), 'base64').toString('utf8')
      : encoding === 'quoted-printable' ? decodeQuotedPrintable(content) : content;
    parts.push({ type: (partHeaders.get('content-type') ?? 'text/plain').split(';')[0]!.toLowerCase(), content: text });
  };
  if (boundary) {
    for (const section of body.split(`--${boundary}`).slice(1)) {
      if (section.startsWith('--')) break;
      const at = section.search(/\r?\n\r?\n/);
      decodePart(parseHeaders(section.slice(0, at)), section.slice(at).replace(/^\r?\n\r?\n/, ''));
    }
  } else {
    decodePart(headers, body);
  }
  return {
    headers,
    subject: decodeWords(headers.get('subject') ?? ''),
    text: parts.find((p) => p.type === 'text/plain')?.content ?? '',
    html: parts.find((p) => p.type === 'text/html')?.content ?? '',
  };
}
