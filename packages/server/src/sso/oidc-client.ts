/**
 * This server as an OpenID Connect relying party (openid-client): the authorization code flow
 * with PKCE (S256), `state` and `nonce`. The provider's metadata is discovered at the first
 * sign-in and kept; a discovery that fails is tried again at the next one, so a provider that is
 * down delays sign-ins but never the server's start.
 */
import * as oidc from 'openid-client';
import { EcronError } from '../core/errors.ts';
import type { OidcConfig } from './config.ts';
import { groupsOfClaim } from './role-mapping.ts';

/** What a sign-in must find again at its callback (kept in the signed, short-lived login cookie). */
export interface LoginChecks {
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** The user the provider vouched for. */
export interface SignedInUser {
  subject: string;
  email: string | null;
  emailVerified: boolean;
  /** A name for display: the `name` claim, else `preferred_username`, else the email. */
  name: string | null;
  groups: string[];
}

const DISCOVERY_TIMEOUT_S = 10;

export class OidcClient {
  readonly #config: OidcConfig;
  readonly #redirectUri: () => string;
  #discovered: Promise<oidc.Configuration> | null = null;

  /** `redirectUri`: this server's callback URL (`PUBLIC_URL/auth/sso/callback`), read at each sign-in. */
  constructor(config: OidcConfig, redirectUri: () => string) {
    this.#config = config;
    this.#redirectUri = redirectUri;
  }

  #discover(): Promise<oidc.Configuration> {
    this.#discovered ??= oidc.discovery(
      this.#config.issuer, this.#config.clientId, this.#config.clientSecret ?? undefined,
      this.#config.clientSecret === null ? oidc.None() : oidc.ClientSecretPost(this.#config.clientSecret),
      { timeout: DISCOVERY_TIMEOUT_S, ...(this.#config.issuer.protocol === 'http:' ? { execute: [oidc.allowInsecureRequests] } : {}) },
    ).catch((error: unknown) => {
      this.#discovered = null;
      throw new EcronError('SSO_PROVIDER_UNAVAILABLE', `the identity provider ${this.#config.issuer.href} cannot be reached: ${(error as Error).message}`);
    });
    return this.#discovered;
  }

  /** Where to send the browser to sign in, and what its callback must match. */
  async start(): Promise<{ url: URL; checks: LoginChecks }> {
    const config = await this.#discover();
    const checks: LoginChecks = { state: oidc.randomState(), nonce: oidc.randomNonce(), codeVerifier: oidc.randomPKCECodeVerifier() };
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.#redirectUri(),
      scope: this.#config.scopes.join(' '),
      response_type: 'code',
      code_challenge: await oidc.calculatePKCECodeChallenge(checks.codeVerifier),
      code_challenge_method: 'S256',
      state: checks.state,
      nonce: checks.nonce,
    });
    return { url, checks };
  }

  /**
   * Completes a sign-in at the callback (`query`: its query string): exchanges the code with the
   * PKCE verifier, checks state, nonce and the ID token, and reads the groups from the ID token's
   * claims, else from the userinfo endpoint. SSO_LOGIN_FAILED for anything the provider or the
   * browser got wrong.
   */
  async finish(query: string, checks: LoginChecks): Promise<SignedInUser> {
    const config = await this.#discover();
    const callbackUrl = new URL(this.#redirectUri());
    callbackUrl.search = query;
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: checks.codeVerifier, expectedState: checks.state, expectedNonce: checks.nonce, idTokenExpected: true,
      }, { redirect_uri: this.#redirectUri() });
    } catch (error) {
      throw new EcronError('SSO_LOGIN_FAILED', `the identity provider did not complete the sign-in: ${describe(error)}`);
    }
    const claims = tokens.claims()!;
    let groupsValue: unknown = claims[this.#config.groupsClaim];
    let profile: Record<string, unknown> = claims;
    if (groupsValue === undefined && config.serverMetadata().userinfo_endpoint) {
      try {
        profile = { ...(await oidc.fetchUserInfo(config, tokens.access_token, claims.sub)), ...claims };
        groupsValue = profile[this.#config.groupsClaim];
      } catch (error) {
        throw new EcronError('SSO_LOGIN_FAILED', `the identity provider's userinfo could not be read: ${describe(error)}`);
      }
    }
    const email = typeof profile.email === 'string' ? profile.email : null;
    const name = [profile.name, profile.preferred_username, email].find((value): value is string => typeof value === 'string' && value !== '') ?? null;
    return { subject: claims.sub, email, emailVerified: profile.email_verified === true, name, groups: groupsOfClaim(groupsValue) };
  }
}

/** An error of openid-client, with the provider's `error_description` when it gave one. */
function describe(error: unknown): string {
  const { message, error: code, error_description: description } = error as { message?: string; error?: string; error_description?: string };
  return [code, description ?? message].filter(Boolean).join(': ');
}
