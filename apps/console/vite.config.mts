import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// The console is built into dist/console, which the API serves at /console/ (relative asset URLs).
export default defineConfig({
  root: here('.'),
  base: './',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  resolve: {
    alias: {
      // Pure modules of libs/core (no I/O): the console checks input with the server's own code.
      '@herald/core/filter-policy': here('../../libs/core/src/filter-policy/index.ts'),
      '@herald/core/attributes': here('../../libs/core/src/attributes.ts'),
    },
  },
  build: { outDir: here('../../dist/console'), emptyOutDir: true, chunkSizeWarningLimit: 200 },
});
