/**
 * A build of the web console held in memory: index.html and every file of the build directory,
 * each with its gzipped copy (the `.gz` file the console's Vite build writes next to each script
 * and stylesheet, checked against the file). The server answers from memory, so rebuilding the
 * directory while it runs can never mix two builds, nor take away the files of the build that
 * browsers already have open.
 *
 * A new build replaces the one held only once it reads as complete and settled: nothing in the
 * directory changed for `quietMs` and while it was read, every `/assets/…` file that index.html
 * names is there, and every `.gz` copy matches its file (the build writes them last).
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { extname, relative, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';

export interface BuildFile {
  body: Buffer;
  /** The build's gzipped copy, when it wrote one that matches `body`. */
  gzip: Buffer | null;
  type: string;
}

export interface ConsoleBuild {
  /** index.html. */
  page: string;
  /** By URL path (`/assets/index-abc123.js`), index.html and the `.gz` copies excluded. */
  files: Map<string, BuildFile>;
  /** The directory's state when it was read (see {@link buildSignature}). */
  signature: string;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8', '.json': 'application/json; charset=utf-8', '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png', '.jpg': 'image/jpeg', '.gif': 'image/gif',
  '.webp': 'image/webp', '.ico': 'image/x-icon', '.woff': 'font/woff', '.woff2': 'font/woff2', '.wasm': 'application/wasm',
};

interface Entry { path: string; file: string; size: number; mtimeMs: number }

/** Every file under `dir` (URL path, absolute file, size, mtime), sorted by path; null when `dir` cannot be read. */
async function listFiles(dir: string): Promise<Entry[] | null> {
  let dirents;
  try {
    dirents = await readdir(dir, { recursive: true, withFileTypes: true });
  } catch {
    return null;
  }
  const entries: Entry[] = [];
  for (const dirent of dirents) {
    if (!dirent.isFile()) continue;
    const file = resolve(dirent.parentPath, dirent.name);
    try {
      const { size, mtimeMs } = await stat(file);
      entries.push({ path: '/' + relative(dir, file).split('\\').join('/'), file, size, mtimeMs });
    } catch {
      // Deleted while listed: the signature taken after reading will differ.
    }
  }
  return entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

const signatureOf = (entries: Entry[]): string => entries.map((e) => `${e.path}:${e.size}:${e.mtimeMs}`).join('\n');

/** The state of the build directory: its files with their sizes and mtimes (null without index.html). */
export async function buildSignature(dir: string): Promise<{ signature: string; newestMs: number } | null> {
  const entries = await listFiles(dir);
  if (!entries?.some((e) => e.path === '/index.html')) return null;
  return { signature: signatureOf(entries), newestMs: Math.max(...entries.map((e) => e.mtimeMs)) };
}

/** The `/assets/…` paths index.html loads (scripts, modulepreloads, stylesheets). */
export function assetsNamedBy(page: string): string[] {
  return [...page.matchAll(/\b(?:src|href)="(\/assets\/[^"?#]+)"/g)].map((m) => m[1]!);
}

/**
 * Reads the build in `dir`: the build, or why it is not one to serve (`missing`: no index.html;
 * `incomplete`: a file index.html names is missing, or a `.gz` copy does not match its file;
 * `changing`: the directory changed while it was read).
 */
export async function readBuild(dir: string): Promise<{ build: ConsoleBuild } | { refused: 'missing' | 'incomplete' | 'changing' }> {
  const entries = await listFiles(dir);
  if (!entries?.some((e) => e.path === '/index.html')) return { refused: 'missing' };
  const contents = new Map<string, Buffer>();
  try {
    for (const entry of entries) contents.set(entry.path, await readFile(entry.file));
  } catch {
    return { refused: 'changing' };
  }
  const after = await listFiles(dir);
  if (after === null || signatureOf(after) !== signatureOf(entries)) return { refused: 'changing' };

  const page = contents.get('/index.html')!.toString('utf8');
  const files = new Map<string, BuildFile>();
  for (const [path, body] of contents) {
    if (path === '/index.html' || path.endsWith('.gz')) continue;
    const gzipped = contents.get(`${path}.gz`);
    let gzip: Buffer | null = null;
    if (gzipped) {
      try {
        if (gunzipSync(gzipped).equals(body)) gzip = gzipped;
      } catch {
        // A truncated copy: reported below.
      }
      if (gzip === null) return { refused: 'incomplete' };
    }
    files.set(path, { body, gzip, type: TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream' });
  }
  if (assetsNamedBy(page).some((path) => !files.has(path))) return { refused: 'incomplete' };
  return { build: { page, files, signature: signatureOf(entries) } };
}
