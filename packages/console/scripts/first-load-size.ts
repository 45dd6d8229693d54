/**
 * What the console's first load costs: the gzip size of the JS and CSS that dist/index.html
 * loads (entry, modulepreloads, stylesheets), and of that plus the chunks of the first page a
 * signed-in user sees (the dashboard), from Vite's manifest.
 *
 *   npm run build -w @ecron/console && node packages/console/scripts/first-load-size.ts
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';

const DIST = resolve(import.meta.dirname, '../dist');
interface Chunk { file: string; imports?: string[]; css?: string[] }
const manifest = JSON.parse(readFileSync(join(DIST, '.vite/manifest.json'), 'utf8')) as Record<string, Chunk>;
const html = readFileSync(join(DIST, 'index.html'), 'utf8');

const fromHtml = [...html.matchAll(/(?:src|href)="\/([^"]+\.(?:js|css))"/g)].map((m) => m[1]!);

function closure(key: string, files = new Set<string>()): Set<string> {
  const chunk = manifest[key];
  if (!chunk || files.has(chunk.file)) return files;
  files.add(chunk.file);
  for (const css of chunk.css ?? []) files.add(css);
  for (const imported of chunk.imports ?? []) closure(imported, files);
  return files;
}

function sizes(files: Iterable<string>): { raw: number; gzip: number; count: number } {
  let raw = 0;
  let gzip = 0;
  let count = 0;
  for (const file of files) {
    const content = readFileSync(join(DIST, file));
    raw += content.length;
    gzip += gzipSync(content, { level: 9 }).length;
    count++;
  }
  return { raw, gzip, count };
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const page = Object.keys(manifest).find((key) => key.endsWith('pages/Dashboard.tsx'))!;
const index = sizes(fromHtml);
const withDashboard = sizes(new Set([...fromHtml, ...closure(page)]));
console.log(`index.html loads ${index.count} files: ${kib(index.raw)} raw, ${kib(index.gzip)} gzipped`);
console.log(`with the dashboard's chunks, ${withDashboard.count} files: ${kib(withDashboard.raw)} raw, ${kib(withDashboard.gzip)} gzipped`);
const budget = 1024 * 1024;
console.log(withDashboard.gzip <= budget ? `within the 1 MiB gzipped budget (${((withDashboard.gzip / budget) * 100).toFixed(0)}%)` : 'OVER the 1 MiB gzipped budget');
process.exitCode = withDashboard.gzip <= budget ? 0 : 1;
