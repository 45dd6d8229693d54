/**
 * A real OpenID Connect provider for tests: `oidc-provider`, in this process, on a random port of
 * 127.0.0.1. Its users are fixed (an account per login, with a `groups` claim); any password is
 * accepted on its own sign-in form (the library's development interactions), and consent is given
 * by itself, so a sign-in is: the form, then back to the client. It records the authorization and
 * token requests, so tests can see PKCE at work.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type Configuration } from 'oidc-provider';

export interface TestUser {
  email: string;
  name: string;
  groups: string[];
}

export interface TestIdp {
  issuer: string;
  /** The query of every authorization request, in order. */
  authorizationRequests: URLSearchParams[];
  /** The body of every token request, in order. */
  tokenRequests: URLSearchParams[];
  close(): Promise<void>;
}

export async function startTestIdp(options: {
  clients: { clientId: string; clientSecret?: string; redirectUri: string }[];
  users: Record<string, TestUser>;
  /** Seconds an ID token lives. @default 3600 */
  idTokenTtl?: number;
}): Promise<TestIdp> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const configuration: Configuration = {
    clients: options.clients.map((c) => ({
      client_id: c.clientId, redirect_uris: [c.redirectUri], grant_types: ['authorization_code'], response_types: ['code'],
      ...(c.clientSecret ? { client_secret: c.clientSecret, token_endpoint_auth_method: 'client_secret_post' } : { token_endpoint_auth_method: 'none' }),
    })),
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
    scopes: ['openid', 'email', 'profile', 'groups'],
    pkce: { required: () => true },
    ttl: { IdToken: options.idTokenTtl ?? 3600 },
    features: { devInteractions: { enabled: true } },
    async findAccount(_ctx, id) {
      const user = options.users[id];
      if (!user) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, email: user.email, email_verified: true, name: user.name, groups: user.groups }) };
    },
    // Consent is given by itself: the test users approve every client.
    async loadExistingGrant(ctx) {
      const { provider, session, client } = ctx.oidc;
      const grant = new provider.Grant({ clientId: client!.clientId, accountId: session!.accountId! });
      grant.addOIDCScope('openid email profile groups');
      await grant.save();
      return grant;
    },
  };
  const provider = new Provider(issuer, configuration);
  const authorizationRequests: URLSearchParams[] = [];
  const tokenRequests: URLSearchParams[] = [];
  provider.use(async (ctx, next) => {
    if (ctx.path === '/auth') authorizationRequests.push(new URLSearchParams(ctx.querystring));
    if (ctx.path === '/token') {
      // Read the form without taking it from the provider: a copy of the stream's bytes.
      const chunks: Buffer[] = [];
      const original = ctx.req;
      original.on('data', (chunk: Buffer) => chunks.push(chunk));
      original.on('end', () => tokenRequests.push(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    }
    await next();
  });
  server.on('request', provider.callback());
  return {
    issuer, authorizationRequests, tokenRequests,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** A cookie jar for `fetch`, by name only (what a test's provider needs). */
export class CookieJar {
  readonly #cookies = new Map<string, string>();
  take(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair!.indexOf('=');
      const name = pair!.slice(0, at).trim();
      const value = pair!.slice(at + 1).trim();
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) this.#cookies.delete(name);
      else this.#cookies.set(name, value);
    }
  }
  header(): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

/**
 * Drives the provider's side of a sign-in from its authorization URL, as a browser would: follows
 * its redirects, signs in as `login` on its form, and stops at the first redirect that leaves the
 * provider (to the client's callback). Returns that URL.
 */
export async function signInAtIdp(idp: TestIdp, authorizationUrl: string, login: string): Promise<URL> {
  const jar = new CookieJar();
  let url = new URL(authorizationUrl);
  let method = 'GET';
  let body: string | undefined;
  for (let hops = 0; hops < 20; hops++) {
    if (url.origin !== idp.issuer) return url;
    const response = await fetch(url, {
      method, redirect: 'manual', headers: { cookie: jar.header(), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) }, body,
    });
    jar.take(response);
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      url = new URL(location, url);
      method = 'GET';
      body = undefined;
      continue;
    }
    const html = await response.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    if (response.status !== 200 || !action) throw new Error(`the provider answered ${response.status} at ${url.pathname}: ${html.slice(0, 500)}`);
    url = new URL(action.replaceAll('&amp;', '&'), url);
    method = 'POST';
    body = new URLSearchParams({ prompt: 'login', login, password: 'any' }).toString();
  }
  throw new Error('too many redirects at the provider');
}
