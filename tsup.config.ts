import { defineConfig } from 'tsup';

// Dual ESM + CJS build with declarations. The CLI is ESM only (it is an executable, not a
// library entry). Dependencies stay external so the host's single copy of
// @opentelemetry/api (a global registry) is shared with the app.
export default defineConfig([
  {
    entry: {
      index: 'src/index.ts',
      register: 'register.ts',
      // Framework adapters: one subpath each, so an app loads only its framework's face.
      'adapters/index': 'src/adapters/index.ts',
      'adapters/ai': 'src/adapters/ai.ts',
      'adapters/langchain': 'src/adapters/langchain.ts',
      'adapters/openai-agents': 'src/adapters/openai-agents.ts',
    },
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node22',
    platform: 'node',
    splitting: true,
    // Error classes must keep their names in the CJS output (err.name, cross-copy instanceof).
    keepNames: true,
    // import.meta.url is shimmed in the CJS output; import.meta.resolve has no CJS equivalent, so
    // it is defined away there and the code falls back to require resolution.
    shims: true,
    esbuildOptions(options, context) {
      if (context.format === 'cjs')
        options.define = { ...options.define, 'import.meta.resolve': 'undefined' };
    },
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
