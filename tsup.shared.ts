import { defineConfig, type Options } from 'tsup';

/**
 * How every library builds: ESM + CJS + .d.ts for Node 20. `extraEntries` are worker scripts,
 * built beside dist/index.js so `resolveWorkerScript` finds them at the same relative path.
 */
export function libraryConfig(extraEntries: string[] = [], overrides: Options = {}) {
  return defineConfig({
    entry: ['src/index.ts', ...extraEntries],
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    sourcemap: true,
    // import.meta.url in the CJS build (worker script resolution).
    shims: true,
    target: 'node20',
    ...overrides,
  });
}
