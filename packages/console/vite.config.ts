import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

/** Writes `file.gz` next to each JS and CSS asset: the server sends it to browsers that accept gzip. */
function precompress(): Plugin {
  let outDir = 'dist';
  return {
    name: 'ecron-precompress',
    apply: 'build',
    configResolved(config) {
      // `--outDir` may name any directory (the console's tests build into a temporary one).
      outDir = resolve(config.root, config.build.outDir);
    },
    closeBundle() {
      const assets = join(outDir, 'assets');
      for (const name of readdirSync(assets)) {
        if (/\.(js|css)$/.test(name)) writeFileSync(join(assets, `${name}.gz`), gzipSync(readFileSync(join(assets, name)), { level: 9 }));
      }
    },
  };
}

// `npm run dev -w @ecron/console` proxies the API to a server started with `npx ecron start`.
export default defineConfig({
  plugins: [react(), precompress()],
  base: '/',
  build: { outDir: 'dist', emptyOutDir: true, manifest: true, chunkSizeWarningLimit: 1500 },
  server: { proxy: { '/api': 'http://127.0.0.1:7070' } },
});
