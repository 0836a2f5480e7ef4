import { defineConfig } from 'tsup';

// Dual ESM + CJS build with declarations. The CLI is ESM only (it is an executable, not a
// library entry). Dependencies stay external so the host's single copy of
// @opentelemetry/api (a global registry) is shared with the app.
export default defineConfig([
  {
    entry: { index: 'src/index.ts', register: 'register.ts' },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node22',
    platform: 'node',
    splitting: true,
    shims: true,
  },
  {
    entry: { cli: 'src/cli/main.ts' },
    format: ['esm'],
    sourcemap: true,
    target: 'node22',
    platform: 'node',
    banner: { js: '#!/usr/bin/env node' },
  },
]);
