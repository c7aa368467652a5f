// Build of the self-contained report page: `report.html` with every script and style inlined
// (vite-plugin-singlefile) into dist-report/. The orchestrator embeds it (crates/orchestrator
// build.rs) and fills its data block with a test's report; the page never loads anything.
import { defineConfig } from 'vite';
import { viteSingleFile } from 'vite-plugin-singlefile';

export default defineConfig({
  base: './',
  plugins: [viteSingleFile({ removeViteModuleLoader: true })],
  build: {
    outDir: 'dist-report',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    rollupOptions: { input: 'report.html' },
  },
});
