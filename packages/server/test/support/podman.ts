/**
 * A real container engine for the tests: Podman's Docker-compatible API service on a socket of
 * the test's own, with runc (crun fails on this VM's cgroups) and lower rlimits (the VM cannot
 * raise them), and a test image imported from a rootfs holding a static busybox (no registry is
 * reachable). The tests need `podman`, `runc` and `busybox-static` installed (.ci/run installs
 * them); without them they fail, they never skip.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, copyFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const TEST_IMAGE = 'localhost/ecron-test-busybox:1';
const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((path) => existsSync(path));
const TOOLS = ['sh', 'echo', 'sleep', 'cat', 'env', 'true', 'false', 'printf', 'pwd', 'ls', 'seq', 'trap', 'kill'];

function missing(what: string): Error {
  return new Error(`${what} (CI=${process.env.CI ?? 'unset'}); the container tests need a real engine: apt-get install -y podman runc busybox-static`);
}

/** Builds the test image once per machine (`podman import` of a busybox rootfs). */
async function ensureImage(env: NodeJS.ProcessEnv): Promise<void> {
  const present = await run('podman', ['image', 'exists', TEST_IMAGE], { env }).then(() => true, () => false);
  if (present) return;
  if (!BUSYBOX) throw missing('no static busybox to build the test image from');
  const root = mkdtempSync(join(tmpdir(), 'ecron-rootfs-'));
  mkdirSync(join(root, 'bin'));
  mkdirSync(join(root, 'tmp'));
  copyFileSync(BUSYBOX, join(root, 'bin/busybox'));
  for (const tool of TOOLS) symlinkSync('busybox', join(root, 'bin', tool));
  await run('tar', ['-C', root, '-cf', `${root}.tar`, '.']);
  await run('podman', ['import', `${root}.tar`, TEST_IMAGE], { env });
}

export class PodmanEngine {
  readonly dir = mkdtempSync(join(tmpdir(), 'ecron-podman-'));
  readonly socket = join(this.dir, 'podman.sock');
  readonly env: NodeJS.ProcessEnv = { ...process.env, CONTAINERS_CONF: join(this.dir, 'containers.conf') };
  #service: ChildProcess | null = null;

  get address(): string {
    return `unix://${this.socket}`;
  }

  async start(): Promise<this> {
    const version = await run('podman', ['--version']).catch(() => null);
    if (!version) throw missing('podman is not installed');
    if (!existsSync('/usr/sbin/runc') && !existsSync('/usr/bin/runc')) throw missing('runc is not installed');
    writeFileSync(this.env.CONTAINERS_CONF!, '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n');
    await ensureImage(this.env);
    const runtime = existsSync('/usr/sbin/runc') ? '/usr/sbin/runc' : '/usr/bin/runc';
    this.#service = spawn('podman', ['--runtime', runtime, 'system', 'service', '--time=0', this.address], { env: this.env, stdio: 'ignore' });
    for (let i = 0; i < 200 && !existsSync(this.socket); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    if (!existsSync(this.socket)) throw missing(`the podman API service did not open ${this.socket}`);
    return this;
  }

  async stop(): Promise<void> {
    this.#service?.kill('SIGTERM');
    this.#service = null;
  }

  /** `podman ps -a` of the containers with a label (`key=value`): their names. */
  async containers(label: string): Promise<string[]> {
    const { stdout } = await run('podman', ['ps', '-a', '--filter', `label=${label}`, '--format', '{{.Names}}'], { env: this.env });
    return stdout.split('\n').filter(Boolean);
  }
}
