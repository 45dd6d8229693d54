import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// `npm run dev -w @ecron/console` proxies the API to a server started with `npx ecron start`.
export default defineConfig({
  plugins: [react()],
  base: '/',
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1500 },
  server: { proxy: { '/api': 'http://127.0.0.1:7070' } },
});
