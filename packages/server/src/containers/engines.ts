/**
 * The container engines a server (or an `ecron agent`) runs container targets on: each a name and
 * the address of a Docker Engine API, which Docker and Podman both serve
 * (`podman system service unix:///run/podman/podman.sock`). Configured as `NAME=ADDRESS`:
 *
 * - `unix:///run/podman/podman.sock`, or a bare absolute path: a local socket;
 * - `tcp://host:2375` or `http://host:2375`: plain HTTP (only on a trusted network);
 * - `https://host:2376`: TLS, with the client certificate of `DOCKER_CERT_PATH` when it is set.
 *
 * A target without `engine` uses the one named `default`; an address alone (`unix:///…`) names it.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { EcronError } from '../core/errors.ts';

/** The engine a target without `engine` runs on. */
export const DEFAULT_ENGINE = 'default';
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface EngineConfig {
  name: string;
  address: string;
}

/** Parses `NAME=ADDRESS` (or `ADDRESS`, for the default engine). Throws CONFIG_INVALID. */
export function parseEngineConfig(text: string, flag = '--container-engine'): EngineConfig {
  const trimmed = text.trim();
  const eq = trimmed.indexOf('=');
  const [name, address] = eq > 0 && !trimmed.slice(0, eq).includes('/') ? [trimmed.slice(0, eq), trimmed.slice(eq + 1)] : [DEFAULT_ENGINE, trimmed];
  if (!NAME.test(name)) throw new EcronError('CONFIG_INVALID', `${flag}: ${JSON.stringify(name)} is not an engine name (letters, digits, . _ -)`);
  dockerOptions(address, flag);
  return { name, address };
}

/** Dockerode's options for an engine address. Throws CONFIG_INVALID. */
export function dockerOptions(address: string, flag = '--container-engine', env: NodeJS.ProcessEnv = process.env): Docker.DockerOptions {
  if (address.startsWith('/')) return { socketPath: address };
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new EcronError('CONFIG_INVALID', `${flag}: ${JSON.stringify(address)} is not an engine address: use unix:///path/to.sock, tcp://host:port or https://host:port`);
  }
  if (url.protocol === 'unix:') {
    if (!url.pathname.startsWith('/')) throw new EcronError('CONFIG_INVALID', `${flag}: ${JSON.stringify(address)}: a unix socket needs an absolute path (unix:///run/podman/podman.sock)`);
    return { socketPath: decodeURIComponent(url.pathname) };
  }
  if (url.protocol === 'tcp:' || url.protocol === 'http:' || url.protocol === 'https:') {
    const tls = url.protocol === 'https:';
    const port = url.port || (tls ? '2376' : '2375');
    const certs = tls && env.DOCKER_CERT_PATH ? {
      ca: readFileSync(join(env.DOCKER_CERT_PATH, 'ca.pem')),
      cert: readFileSync(join(env.DOCKER_CERT_PATH, 'cert.pem')),
      key: readFileSync(join(env.DOCKER_CERT_PATH, 'key.pem')),
    } : {};
    return { host: url.hostname.replace(/^\[|\]$/g, ''), port, protocol: tls ? 'https' : 'http', ...certs };
  }
  throw new EcronError('CONFIG_INVALID', `${flag}: ${JSON.stringify(address)}: unsupported scheme ${url.protocol} (unix:, tcp:, http:, https:)`);
}

/** dockerode, loaded with the first engine's client: a server without engines never loads it. */
const require = createRequire(import.meta.url);
const dockerClient = (options: Docker.DockerOptions): Docker => new (require('dockerode') as typeof Docker)(options);

/** The configured engines, each one Dockerode client (created at its first use, once). */
export class ContainerEngines {
  readonly #byName = new Map<string, { address: string; options: Docker.DockerOptions; docker: Docker | null }>();

  constructor(configs: readonly EngineConfig[]) {
    for (const { name, address } of configs) {
      if (this.#byName.has(name)) throw new EcronError('CONFIG_INVALID', `--container-engine: the engine ${JSON.stringify(name)} is given twice`);
      this.#byName.set(name, { address, options: dockerOptions(address), docker: null });
    }
  }

  get size(): number {
    return this.#byName.size;
  }

  names(): string[] {
    return [...this.#byName.keys()];
  }

  /** The engine named `name` (default: `default`), or null when none is configured by that name. */
  get(name: string | undefined): Docker | null {
    const engine = this.#byName.get(name ?? DEFAULT_ENGINE);
    if (!engine) return null;
    engine.docker ??= dockerClient(engine.options);
    return engine.docker;
  }

  /** Every engine, for the sweep of leftover containers. */
  all(): { name: string; docker: Docker }[] {
    return [...this.#byName.keys()].map((name) => ({ name, docker: this.get(name)! }));
  }

  /** Why a target's engine cannot be used here, with how to configure one. */
  missing(name: string | undefined, where = 'this server'): string {
    const wanted = name ?? DEFAULT_ENGINE;
    const known = this.names();
    return `CONTAINER_ENGINE_NOT_CONFIGURED: ${where} has no container engine ${JSON.stringify(wanted)}`
      + (known.length > 0 ? ` (it has ${known.map((n) => JSON.stringify(n)).join(', ')})` : '')
      + `; start it with --container-engine ${wanted}=unix:///run/podman/podman.sock (Podman's or Docker's API socket)`;
  }
}

/** The mark of an installation's containers: a hash of its callback key (the same on every node of a cluster). */
export function installationMark(callbackKey: string): string {
  return createHash('sha256').update(`ecron-containers:${callbackKey}`).digest('hex').slice(0, 16);
}
