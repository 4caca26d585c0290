import { resolveWorkerScript, type WorkerScript } from '@proj/core';

/**
 * The compile worker script. This file must stay in `src/` beside `compile-worker.ts`: from
 * source `import.meta.url` is this file and finds `compile-worker.ts`; built, it is bundled into
 * `dist/index.{js,cjs}` and finds `dist/compile-worker.js`.
 */
export function compileWorkerScript(): WorkerScript {
  return resolveWorkerScript(import.meta.url, 'compile-worker');
}
