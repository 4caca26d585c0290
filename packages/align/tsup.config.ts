import { defineConfig } from 'tsup';

export default defineConfig({
  // The compile worker is its own entry so dist/compile-worker.js sits beside dist/index.js,
  // where resolveWorkerScript (called from src/compile-worker-script.ts) looks for it.
  entry: ['src/index.ts', 'src/compile-worker.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  shims: true,
  target: 'node20',
});
