// Build and test configuration for the dashboard.
//
// `npm run build` writes a static bundle to dist/ with relative asset paths, so the
// orchestrator can serve the folder at `/` (or under any prefix) on its API port.
// `npm run dev` proxies /api to a running orchestrator (ONSLAUGHT_API, default
// http://127.0.0.1:8080) for hot-reload development.
import { defineConfig } from 'vitest/config';

const api = process.env.ONSLAUGHT_API ?? 'http://127.0.0.1:8080';

export default defineConfig({
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
  },
  server: {
    proxy: {
      '/api': { target: api, changeOrigin: false },
    },
  },
  test: {
    environment: 'node',
    include: ['test/**/*.test.ts'],
  },
});
