import { defineConfig } from 'tsup';

export default defineConfig({
  // The worker is its own entry so dist/synth-worker.js sits beside dist/index.js,
  // where resolveWorkerScript(import.meta.url, 'synth-worker') looks for it.
  entry: ['src/index.ts', 'src/synth-worker.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  shims: true,
  target: 'node20',
});
