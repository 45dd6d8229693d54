/**
 * E-mail through an SMTP server (`nodemailer`'s SMTP transport): subject = the title, a text part
 * and a simple HTML part, to every address of `to`, from `from`. TLS is `secure` (implicit, port
 * 465), or STARTTLS when the server offers it (`requireTLS`: fail unless it does; `ignoreTLS`: never),
 * verifying the certificate unless `rejectUnauthorized` is false. One connection per send, closed
 * after it; `timeoutMs` bounds the connection, the greeting, each reply and the send as a whole.
 *
 * The outbound policy of the namespace holds as for HTTP: the host is resolved through the policy's
 * lookup (a denied name or address fails as `outbound-denied`) and the connection goes to the
 * address it checked, with the host name kept for the certificate check (`servername`), so that a
 * second resolution cannot lead elsewhere.
 *
 * A message the server accepted for some recipients and refused for others is a success (sending it
 * again would reach the first ones twice); one it refused for all fails as `smtp`.
 */
import { isIP } from 'node:net';
import { AlertChannelError, connectionFailure } from './channel-error.ts';
import type { ChannelSend } from './channel-sender.ts';

function resolveAllowed(lookup: (host: string, options: object, callback: (error: NodeJS.ErrnoException | null, address: string | unknown[]) => void) => void, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    lookup(host, {}, (error, address) => (error ? reject(error) : resolve(address as string)));
  });
}

export const sendEmail: ChannelSend<'email'> = async (channel, notification, message, context) => {
  const { config } = channel;
  const port = config.port ?? (config.secure ? 465 : 587);
  const host = config.host.replace(/^\[|\]$/g, '');
  const what = `SMTP server ${host}:${port}`;
  let address: string;
  try {
    address = await resolveAllowed(context.outbound.of(channel.namespace).lookup, host);
  } catch (error) {
    throw connectionFailure('email', what, error, config.timeoutMs);
  }
  // nodemailer is loaded with the first email (~5 MiB of resident memory a server without email channels does not need).
  const { createTransport } = await import('nodemailer');
  const transport = createTransport({
    host: address,
    port,
    secure: config.secure,
    requireTLS: config.requireTLS,
    ignoreTLS: config.ignoreTLS,
    tls: { rejectUnauthorized: config.rejectUnauthorized, ...(isIP(host) === 0 ? { servername: host } : {}) },
    auth: config.user !== undefined ? { user: config.user, pass: config.password ?? '' } : undefined,
    connectionTimeout: config.timeoutMs,
    greetingTimeout: config.timeoutMs,
    socketTimeout: config.timeoutMs,
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    const sent = transport.sendMail({
      from: config.from,
      to: config.to,
      subject: message.title,
      text: message.text,
      html: message.html,
      headers: { 'X-Ecron-Notification': notification.id, 'X-Ecron-Incident': notification.incidentId },
    });
    const stopped = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error('timed out'), { name: 'TimeoutError' })), config.timeoutMs);
      onAbort = () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
      context.signal?.addEventListener('abort', onAbort, { once: true });
    });
    sent.catch(() => {}); // the race below may leave it behind
    await Promise.race([sent, stopped]);
  } catch (error) {
    throw smtpFailure(what, error, config.timeoutMs);
  } finally {
    clearTimeout(timer);
    if (onAbort) context.signal?.removeEventListener('abort', onAbort);
    transport.close();
  }
};

/** An SMTP answer (a refused login, sender or recipients) is `smtp`; no answer is as for HTTP. */
function smtpFailure(what: string, error: unknown, timeoutMs: number): AlertChannelError {
  const e = error as { code?: string; responseCode?: number; response?: string; message?: string; name?: string };
  if (typeof e?.responseCode === 'number' || e?.code === 'EAUTH' || e?.code === 'EENVELOPE' || e?.code === 'EMESSAGE' || e?.code === 'ETLS') {
    const reply = (e.message ?? e.response ?? String(error)).replace(/\s+/g, ' ').slice(0, 300);
    return new AlertChannelError({ type: 'email', reason: 'smtp', ...(e.responseCode !== undefined ? { platformCode: e.responseCode } : {}) },
      `${what} refused the message (${e.code ?? 'SMTP'}): ${reply}`, { cause: error });
  }
  if (e?.code === 'ETIMEDOUT') return connectionFailure('email', what, Object.assign(new Error('timed out'), { name: 'TimeoutError', cause: error }), timeoutMs);
  return connectionFailure('email', what, error, timeoutMs);
}
