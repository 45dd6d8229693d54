/**
 * The SSO configuration (`ecron start --oidc-config FILE`, or ECRON_OIDC_CONFIG): a YAML or JSON
 * file naming the OpenID Connect provider, this server's client at it, and which roles the users'
 * groups get in which namespaces. Compiled once into a frozen {@link OidcConfig}; anything wrong
 * fails the start with CONFIG_INVALID and a message that names every bad field by its path.
 *
 * ```yaml
 * issuer: https://login.example.com/realms/ops
 * clientId: ecron
 * clientSecretEnv: ECRON_OIDC_CLIENT_SECRET
 * roles:
 *   - { group: ecron-admins, role: admin, namespaces: ["*"] }
 *   - { group: team-a, role: editor, namespaces: [team-a] }
 * ```
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { describeFieldIssues, duration, NamespaceNameSchema, RANKED_TOKEN_ROLES, toFieldIssues, type FieldIssue, type RankedTokenRole } from '@ecron/contracts';
import { EcronError } from '../core/errors.ts';

/** @default 12 hours: a working day, after which the user signs in again (and their groups are read again). */
export const DEFAULT_SESSION_TTL_MS = 12 * 3_600_000;
export const DEFAULT_SCOPES: readonly string[] = Object.freeze(['openid', 'profile', 'email']);
export const DEFAULT_GROUPS_CLAIM = 'groups';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

const RoleMappingSchema = z.strictObject({
  /** A value of the groups claim (exact, case-sensitive). */
  group: z.string().min(1, 'must not be empty').max(512),
  role: z.enum(RANKED_TOKEN_ROLES, { error: `expected one of ${RANKED_TOKEN_ROLES.join(', ')}` }),
  /** The namespaces the role holds in; `["*"]`: every namespace. */
  namespaces: z.array(z.union([z.literal('*'), NamespaceNameSchema])).min(1, 'name at least one namespace, or "*" for all'),
});

const OidcFileSchema = z.strictObject({
  /** The provider's issuer URL: its discovery document is at ISSUER/.well-known/openid-configuration. */
  issuer: z.string().url('expected the issuer\'s URL, such as https://login.example.com/realms/ops'),
  /** The label of the console's sign-in button ("Sign in with NAME"). @default "SSO" */
  name: z.string().min(1).max(64).optional(),
  clientId: z.string().min(1, 'must not be empty'),
  /** The client secret, written in the file. Prefer `clientSecretEnv`. Neither: a public client (PKCE only). */
  clientSecret: z.string().min(1, 'must not be empty').optional(),
  /** The environment variable that holds the client secret. */
  clientSecretEnv: z.string().regex(ENV_NAME, 'expected an environment variable name').optional(),
  /** @default ["openid", "profile", "email"]. Add the scope your provider needs for the groups claim (e.g. "groups"). */
  scopes: z.array(z.string().regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'expected a scope name without spaces')).min(1).optional(),
  /** The claim (of the ID token, else of the userinfo answer) that lists the user's groups. @default "groups" */
  groupsClaim: z.string().min(1).optional(),
  /** What names the user in audit entries: `user:<sub>`, or `user:<email>` (a verified email only). @default "sub" — stable and unique at the provider; an email may change hands */
  actorClaim: z.enum(['sub', 'email']).optional(),
  /** How long a session lasts from sign-in. @default "12h" */
  sessionTtl: duration({ min: 60_000, max: 30 * 86_400_000 }).optional(),
  /** Which roles which groups get, and where. A user whose groups match none is refused (SSO_NO_ROLE). */
  roles: z.array(RoleMappingSchema).min(1, 'map at least one group to a role'),
});

export interface RoleMapping {
  group: string;
  role: RankedTokenRole;
  namespaces: readonly string[];
}

/** The compiled configuration. */
export interface OidcConfig {
  issuer: URL;
  name: string;
  clientId: string;
  /** Null for a public client. */
  clientSecret: string | null;
  scopes: readonly string[];
  groupsClaim: string;
  actorClaim: 'sub' | 'email';
  sessionTtlMs: number;
  roles: readonly RoleMapping[];
}

function invalid(source: string, issues: readonly FieldIssue[]): EcronError {
  return new EcronError('CONFIG_INVALID', `${source} is invalid (${issues.length} issue${issues.length === 1 ? '' : 's'}): ${describeFieldIssues(issues)}`, { issues });
}

/** Compiles a parsed config file; `source` names it in messages; `env` holds `clientSecretEnv`. */
export function resolveOidcConfig(raw: unknown, options: { source: string; env: Readonly<Record<string, string | undefined>> }): OidcConfig {
  const parsed = OidcFileSchema.safeParse(raw);
  if (!parsed.success) throw invalid(options.source, toFieldIssues(parsed.error));
  const file = parsed.data;
  const issues: FieldIssue[] = [];
  const issuer = new URL(file.issuer);
  if (issuer.protocol !== 'https:' && !(issuer.protocol === 'http:' && LOOPBACK_HOSTS.has(issuer.hostname))) {
    issues.push({ path: 'issuer', code: 'INSECURE_URL', message: 'must be an https:// URL (http:// only for a provider on this host: 127.0.0.1, [::1] or localhost)' });
  }
  if (issuer.search !== '' || issuer.hash !== '') issues.push({ path: 'issuer', code: 'INVALID_VALUE', message: 'must have no query or fragment' });
  if (file.clientSecret !== undefined && file.clientSecretEnv !== undefined) {
    issues.push({ path: 'clientSecretEnv', code: 'CONFLICT', message: 'give clientSecret or clientSecretEnv, not both' });
  }
  let clientSecret = file.clientSecret ?? null;
  if (file.clientSecretEnv !== undefined) {
    const value = options.env[file.clientSecretEnv];
    if (value === undefined || value === '') issues.push({ path: 'clientSecretEnv', code: 'ENV_NOT_SET', message: `the environment variable ${file.clientSecretEnv} is not set` });
    else clientSecret = value;
  }
  const scopes = file.scopes ?? DEFAULT_SCOPES;
  if (!scopes.includes('openid')) issues.push({ path: 'scopes', code: 'INVALID_VALUE', message: 'must include "openid"' });
  file.roles.forEach((mapping, i) => {
    if (mapping.namespaces.includes('*') && mapping.namespaces.length > 1) {
      issues.push({ path: `roles[${i}].namespaces`, code: 'INVALID_VALUE', message: '"*" already means every namespace: name no other' });
    }
  });
  if (issues.length > 0) throw invalid(options.source, issues);
  return Object.freeze({
    issuer,
    name: file.name ?? 'SSO',
    clientId: file.clientId,
    clientSecret,
    scopes: Object.freeze([...scopes]),
    groupsClaim: file.groupsClaim ?? DEFAULT_GROUPS_CLAIM,
    actorClaim: file.actorClaim ?? 'sub',
    sessionTtlMs: file.sessionTtl ?? DEFAULT_SESSION_TTL_MS,
    roles: Object.freeze(file.roles.map((mapping) => Object.freeze({ group: mapping.group, role: mapping.role, namespaces: Object.freeze([...new Set(mapping.namespaces)]) }))),
  });
}

/** Reads and compiles the config file at `path` (YAML, or JSON, which YAML reads too). */
export function loadOidcConfig(path: string, env: Readonly<Record<string, string | undefined>>): OidcConfig {
  const source = `the OIDC config ${path}`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new EcronError('CONFIG_INVALID', `${source} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter });
  if (document.errors.length > 0) {
    const issues = document.errors.map((error) => {
      const at = lineCounter.linePos(error.pos[0]);
      return { path: '', code: 'SYNTAX_ERROR', message: `${at ? `line ${at.line}, column ${at.col}: ` : ''}${error.message.split('\n')[0]}` };
    });
    throw invalid(source, issues);
  }
  const value: unknown = document.toJS();
  if (value === null || value === undefined || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(source, [{ path: '', code: 'INVALID_TYPE', message: 'expected a mapping of settings (issuer, clientId, roles, …)' }]);
  }
  return resolveOidcConfig(value, { source, env });
}
