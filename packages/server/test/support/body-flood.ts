/**
 * The attack of security finding F8 (issue 17), as a client: a POST whose body is streamed in
 * chunks for as long as the server keeps the connection open, up to `totalBytes`. Tells what the
 * server answered and how much of the body it let through before it closed the connection.
 */
import { once } from 'node:events';
import { request } from 'node:http';

export interface FloodResult {
  /** The answer's status; undefined when the connection ended without one. */
  status: number | undefined;
  /** The answer's body, as text. */
  body: string;
  /** Body bytes handed to the socket before the connection ended (or all of them). */
  written: number;
  /** True when the connection ended before the whole body was written. */
  cutShort: boolean;
}

const CHUNK = Buffer.alloc(64 * 1024, 'x');

/** Streams a body of `totalBytes` (chunked, unless `headers` give a content-length) to `url`, on a connection of its own. */
export async function floodBody(url: string, headers: Record<string, string>, totalBytes: number): Promise<FloodResult> {
  const req = request(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', ...headers } });
  let status: number | undefined;
  let body = '';
  const answered = new Promise<void>((resolve) => {
    req.on('response', (res) => {
      status = res.statusCode;
      res.setEncoding('utf8');
      res.on('data', (text: string) => { body += text; });
      res.on('end', resolve);
      res.on('error', () => resolve());
    });
  });
  // The connection is over when the request errors (EPIPE, ECONNRESET) or closes; an answer alone
  // does not end it: a server that answers early but goes on reading still takes the whole body.
  let closed = false;
  const connectionClosed = new Promise<void>((resolve) => {
    const close = () => {
      closed = true;
      resolve();
    };
    req.on('error', close);
    req.on('close', close);
  });
  let written = 0;
  while (!closed && written < totalBytes) {
    written += CHUNK.length;
    if (!req.write(CHUNK)) await Promise.race([once(req, 'drain').catch(() => {}), connectionClosed]);
  }
  const cutShort = closed && written < totalBytes;
  if (!closed) req.end();
  await connectionClosed;
  // An answer that arrived before the connection closed has been read by now, or is about to be.
  await Promise.race([answered, new Promise((resolve) => setTimeout(resolve, 500).unref())]);
  return { status, body, written, cutShort };
}
