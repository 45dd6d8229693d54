/**
 * Where the server may connect: every address it calls on a task's or an executor's behalf (http
 * and grpc targets, cancel and status URLs, push executor nodes) is checked against a policy of
 * allow and deny rules, CIDRs or host names, at connect time and against every address a name
 * resolves to, so that DNS rebinding (a name that resolves to an allowed address when a task is
 * saved and to an internal one when it fires) cannot pass.
 *
 * - Link-local addresses (169.254.0.0/16, fe80::/10: among them the cloud metadata services at
 *   169.254.169.254 and fd00:ec2::254) and the metadata host names are denied unless an allow rule
 *   names them.
 * - A deny rule denies; with any allow rule, only what an allow rule names is permitted (an allow
 *   rule that names a default-denied address lets it through).
 * - An IPv4-mapped IPv6 address is checked as its IPv4 address; the WHATWG URL parser already
 *   turns `127.1`, `2130706433` or `0x7f000001` into `127.0.0.1` before anything sees them.
 *
 * A refusal is {@link OUTBOUND_DENIED}, with the same text whether or not anything listens there.
 *
 * A namespace's policy (`PUT /api/v1/namespaces/{name}` `outbound`) has the server's as its parent:
 * an address must pass both (see {@link NamespacePolicies}).
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { EcronError } from '../core/errors.ts';

export const OUTBOUND_DENIED = 'OUTBOUND_DENIED';

/** The rules as configured: CIDRs (`10.0.0.0/8`, `fd00::/8`), addresses, host names or `*.suffix` host patterns. */
export interface OutboundRules {
  allow?: readonly string[];
  deny?: readonly string[];
}

/** Denied unless allowed: link-local ranges, which hold the cloud metadata services. */
const DEFAULT_DENIED_RANGES: readonly string[] = ['169.254.0.0/16', 'fe80::/10', 'fd00:ec2::254/128', '100.100.100.200/32'];
const DEFAULT_DENIED_HOSTS: readonly string[] = ['metadata.google.internal', 'metadata.goog', 'metadata'];

interface CompiledRules {
  addresses: BlockList;
  /** Exact host names (lower case) and `*.suffix` patterns (kept as `.suffix`). */
  hosts: Set<string>;
  suffixes: string[];
  size: number;
}

function compile(rules: readonly string[], what: string): CompiledRules {
  const compiled: CompiledRules = { addresses: new BlockList(), hosts: new Set(), suffixes: [], size: rules.length };
  for (const raw of rules) {
    const rule = raw.trim().toLowerCase();
    const [address, prefix, extra] = rule.split('/');
    const family = isIP(address ?? '');
    if (family !== 0) {
      const type = family === 4 ? 'ipv4' : 'ipv6';
      const bits = prefix === undefined ? (family === 4 ? 32 : 128) : Number(prefix);
      if (extra !== undefined || !Number.isInteger(bits) || bits < 0 || bits > (family === 4 ? 32 : 128)) {
        throw new EcronError('CONFIG_INVALID', `outbound ${what} rule "${raw}": not a CIDR (address/prefix length)`);
      }
      compiled.addresses.addSubnet(address!, bits, type);
    } else if (/^\*\.[a-z0-9.-]+$/.test(rule)) {
      compiled.suffixes.push(rule.slice(1));
    } else if (/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(rule) && prefix === undefined) {
      compiled.hosts.add(rule);
    } else {
      throw new EcronError('CONFIG_INVALID', `outbound ${what} rule "${raw}": expected a CIDR, an address, a host name or *.domain`);
    }
  }
  return compiled;
}

function matchesHost(rules: CompiledRules, host: string): boolean {
  return rules.hosts.has(host) || rules.suffixes.some((suffix) => host.endsWith(suffix));
}

function matchesAddress(rules: CompiledRules, address: string, family: 4 | 6): boolean {
  return rules.addresses.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** `::ffff:a.b.c.d` (and its hex form) as the IPv4 address it carries; anything else unchanged. */
export function unmapIpv4(address: string): { address: string; family: 4 | 6 } {
  const family = isIP(address);
  if (family === 4) return { address, family: 4 };
  const lower = address.toLowerCase();
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (dotted) return { address: dotted[1]!, family: 4 };
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex) {
    const high = parseInt(hex[1]!, 16);
    const low = parseInt(hex[2]!, 16);
    return { address: `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`, family: 4 };
  }
  return { address, family: 6 };
}

/**
 * Where connections made for a namespace may go: `of(namespace)`, beneath the server's policy
 * (`server`). One {@link OutboundPolicy} serves every namespace alike; {@link NamespacePolicies}
 * adds each namespace's own rules.
 */
export interface OutboundPolicies {
  readonly server: OutboundPolicy;
  of(namespace: string): OutboundPolicy;
}

export class OutboundPolicy implements OutboundPolicies {
  readonly #allow: CompiledRules;
  readonly #deny: CompiledRules;
  readonly #defaults: CompiledRules;
  readonly #defaultHosts: CompiledRules;
  readonly #parent: OutboundPolicy | null;

  /** @param parent a policy checked first (the server's, under a namespace's): both must let an address through. */
  constructor(rules: OutboundRules = {}, parent: OutboundPolicy | null = null) {
    this.#parent = parent;
    this.#allow = compile(rules.allow ?? [], 'allow');
    this.#deny = compile(rules.deny ?? [], 'deny');
    this.#defaults = compile(DEFAULT_DENIED_RANGES, 'default');
    this.#defaultHosts = compile(DEFAULT_DENIED_HOSTS, 'default');
  }

  /** This policy is the server's, and every namespace's. */
  get server(): OutboundPolicy {
    return this;
  }

  of(): OutboundPolicy {
    return this;
  }

  /** Null when the server may connect to `host` (a name, before it is resolved); else why not. */
  checkHost(host: string): string | null {
    const above = this.#parent?.checkHost(host);
    if (above) return above;
    const name = host.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
    if (isIP(name) !== 0) return this.checkAddress(name);
    if (matchesHost(this.#deny, name)) return `${name} is denied by the outbound policy`;
    const allowed = matchesHost(this.#allow, name);
    if (!allowed && matchesHost(this.#defaultHosts, name)) return `${name} is a cloud metadata host, denied unless the outbound policy allows it`;
    // With allow rules, a name that no allow rule names may still resolve to an allowed address.
    return null;
  }

  /** Null when the server may connect to `address` (an IP address), reached through host name `via` if any. */
  checkAddress(raw: string, via?: string): string | null {
    const above = this.#parent?.checkAddress(raw, via);
    if (above) return above;
    const { address, family } = unmapIpv4(raw);
    const name = via?.toLowerCase();
    if (matchesAddress(this.#deny, address, family)) return `${address} is denied by the outbound policy`;
    const allowed = matchesAddress(this.#allow, address, family) || (name !== undefined && matchesHost(this.#allow, name));
    if (allowed) return null;
    if (matchesAddress(this.#defaults, address, family)) return `${address} is a link-local or cloud metadata address, denied unless the outbound policy allows it`;
    if (this.#allow.size > 0) return `${address} is not allowed by the outbound policy`;
    return null;
  }

  /**
   * Null when the server may call `host` (a name or an address): the name, then every address it
   * resolves to now. For clients that resolve names themselves (gRPC): a name could resolve
   * differently a moment later, which the socket-level {@link lookup} rules out for HTTP.
   */
  checkResolved(host: string): Promise<string | null> {
    const name = host.replace(/^\[|\]$/g, '');
    const denied = this.checkHost(name);
    if (denied || isIP(name) !== 0) return Promise.resolve(denied);
    return new Promise((resolve) => {
      this.lookup(name, { all: true }, (error) => resolve(error?.code === OUTBOUND_DENIED ? error.message.replace(`${OUTBOUND_DENIED}: `, '') : null));
    });
  }

  /** Throws OUTBOUND_DENIED for a URL the server may not call (its host, before resolution). */
  assertUrl(url: string): void {
    let host: string;
    try {
      host = new URL(url).hostname;
    } catch {
      return; // not a URL: the caller's own validation says so
    }
    const denied = this.checkHost(host);
    if (denied) throw new EcronError(OUTBOUND_DENIED, `${denied}: ${redact(url)} is not called`);
  }

  /**
   * A `dns.lookup` for sockets: resolves as dns.lookup does, then fails with OUTBOUND_DENIED when
   * any address the name resolves to is denied (a name is not half allowed).
   */
  readonly lookup = (hostname: string, options: object, callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void): void => {
    const denied = this.checkHost(hostname);
    if (denied) return callback(deniedError(denied), []);
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      for (const { address } of addresses) {
        const refusal = this.checkAddress(address, hostname);
        if (refusal) return callback(deniedError(`${hostname} resolves to ${refusal.charAt(0).toLowerCase()}${refusal.slice(1)}`), []);
      }
      if ((options as { all?: boolean }).all) return callback(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };
}

function deniedError(message: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`${OUTBOUND_DENIED}: ${message}`);
  error.code = OUTBOUND_DENIED;
  return error;
}

/** A URL without its credentials, query and fragment (for messages). */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}
