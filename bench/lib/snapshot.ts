/**
 * A frozen copy of the ecron server at a git revision, to benchmark while the working tree changes
 * under other engineers' hands. `git archive` extracts packages/server, packages/contracts and packages/sdk
 * (read-only on the repository: no checkout, no index change) into a temporary directory, whose
 * node_modules links to the repository's installed packages, except @ecron/*, which point at the
 * copy (each package's own node_modules, when it has one, is linked as well). Returns the copy's bin/ecron.js, for ECRON_BENCH_BIN.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './processes.ts';

export function snapshotServer(revision: string): { bin: string; commit: string } {
  const commit = execFileSync('git', ['-C', REPO_ROOT, 'rev-parse', '--short', `${revision}^{commit}`], { encoding: 'utf8' }).trim();
  // The copy links into this checkout's node_modules, so it is keyed by the checkout too: a copy made
  // from another clone (since deleted, or installed differently) would resolve nothing here.
  const checkout = createHash('sha256').update(REPO_ROOT).digest('hex').slice(0, 8);
  const dir = join(tmpdir(), `ecron-bench-snapshot-${commit}-${checkout}`);
  const bin = join(dir, 'packages/server/bin/ecron.js');
  if (existsSync(bin) && linksResolve(join(dir, 'node_modules'))) return { bin, commit };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // The server imports @ecron/sdk since b4c020b; older revisions have no packages/sdk.
  const packages = ['server', 'contracts', 'sdk'].filter((name) => hasPath(commit, `packages/${name}`));
  const archive = execFileSync('git', ['-C', REPO_ROOT, 'archive', commit, ...packages.map((name) => `packages/${name}`), 'package.json'], { maxBuffer: 256 * 2 ** 20 });
  execFileSync('tar', ['-x', '-C', dir], { input: archive });
  const modules = join(dir, 'node_modules');
  mkdirSync(join(modules, '@ecron'), { recursive: true });
  for (const entry of readdirSync(join(REPO_ROOT, 'node_modules'))) {
    if (entry !== '@ecron' && entry !== '.bin') symlinkSync(join(REPO_ROOT, 'node_modules', entry), join(modules, entry));
  }
  for (const name of packages) {
    symlinkSync(join(dir, 'packages', name), join(modules, '@ecron', name));
    // A package's own node_modules: the versions npm could not hoist to the root (the OTLP exporter's).
    const own = join(REPO_ROOT, 'packages', name, 'node_modules');
    if (existsSync(own)) symlinkSync(own, join(dir, 'packages', name, 'node_modules'));
  }
  return { bin, commit };
}

/** Whether every entry of the copy's node_modules still leads somewhere (existsSync follows links). */
function linksResolve(modules: string): boolean {
  if (!existsSync(modules)) return false;
  return readdirSync(modules).every((entry) => existsSync(join(modules, entry)))
    && readdirSync(join(REPO_ROOT, 'node_modules')).every((entry) => entry === '.bin' || existsSync(join(modules, entry)));
}

function hasPath(commit: string, path: string): boolean {
  try {
    execFileSync('git', ['-C', REPO_ROOT, 'cat-file', '-e', `${commit}:${path}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
