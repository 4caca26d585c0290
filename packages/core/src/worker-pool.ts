import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, parentPort, workerData as threadData } from 'node:worker_threads';

/** Where a worker script lives; `.ts` scripts (running from source) go through tsx. */
export interface WorkerScript {
  url: URL;
  typescript: boolean;
}

/**
 * Finds `<name>.js` beside the calling module (a built package) or, when running from source
 * (tests, tsx), `<name>.ts`, started through the tsx loader.
 */
export function resolveWorkerScript(callerUrl: string, name: string): WorkerScript {
  const js = new URL(`./${name}.js`, callerUrl);
  if (existsSync(fileURLToPath(js))) return { url: js, typescript: false };
  const ts = new URL(`./${name}.ts`, callerUrl);
  if (existsSync(fileURLToPath(ts))) return { url: ts, typescript: true };
  throw new Error(`resolveWorkerScript: no ${name}.js or ${name}.ts beside ${callerUrl}`);
}

function resolveTsxEsmApi(): string {
  const require = createRequire(import.meta.url);
  const manifestPath = require.resolve('tsx/package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
    exports: Record<string, { import: { default: string } }>;
  };
  return join(dirname(manifestPath), manifest.exports['./esm/api'].import.default);
}

function startWorker(script: WorkerScript, workerData: unknown): Worker {
  if (!script.typescript) return new Worker(script.url, { workerData });
  // Node 20 ignores --import in a worker's execArgv, so a tiny ESM bootstrap loads tsx's API
  // and imports the TypeScript file through it. Only used when running from source.
  const tsxApi = pathToFileURL(resolveTsxEsmApi()).href;
  const bootstrap = [
    `const api = await import(${JSON.stringify(tsxApi)});`,
    `await (api.tsImport ?? api.default.tsImport)(${JSON.stringify(script.url.href)}, ${JSON.stringify(script.url.href)});`,
  ].join('\n');
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(bootstrap)}`), { workerData });
}

/** The number of worker threads to use by default: all cores. */
export function defaultThreadCount(): number {
  return Math.max(1, availableParallelism());
}

interface TaskMessage<T> {
  id: number;
  task: T;
}
type ResultMessage<R> = { id: number; ok: true; result: R } | { id: number; ok: false; error: string };

/**
 * Runs tasks in worker threads and yields the results in task order. At most `2 × threads`
 * tasks are in flight, so a stream of millions of tasks keeps memory small.
 */
export async function* mapInWorkers<T, R>(
  script: WorkerScript,
  tasks: Iterable<T> | AsyncIterable<T>,
  options: { threads: number; workerData?: unknown },
): AsyncGenerator<R> {
  const threads = Math.max(1, Math.floor(options.threads));
  const workers = Array.from(
    { length: threads },
    () => startWorker(script, options.workerData),
  );
  const idle: Worker[] = [...workers];
  const finished = new Map<number, ResultMessage<R>>();
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const waitForEvent = () => new Promise<void>((resolve) => (wake = resolve));

  for (const worker of workers) {
    worker.on('message', (message: ResultMessage<R>) => {
      finished.set(message.id, message);
      idle.push(worker);
      notify();
    });
    worker.on('error', (error) => {
      failure ??= error;
      notify();
    });
    worker.on('exit', (code) => {
      if (code !== 0) failure ??= new Error(`worker exited with code ${code}`);
      notify();
    });
  }

  const iterator = Symbol.asyncIterator in tasks ? tasks[Symbol.asyncIterator]() : (tasks as Iterable<T>)[Symbol.iterator]();
  let nextId = 0;
  let nextToYield = 0;
  let exhausted = false;
  try {
    while (true) {
      if (failure) throw failure;
      // Hand out tasks while there is an idle worker and room in the window.
      while (!exhausted && idle.length > 0 && nextId - nextToYield < 2 * threads) {
        const step = await iterator.next();
        if (step.done) {
          exhausted = true;
          break;
        }
        const worker = idle.pop()!;
        const message: TaskMessage<T> = { id: nextId++, task: step.value };
        worker.postMessage(message);
      }
      // Yield what is ready, in order.
      let yielded = false;
      while (finished.has(nextToYield)) {
        const message = finished.get(nextToYield)!;
        finished.delete(nextToYield);
        nextToYield++;
        if (!message.ok) throw new Error(`worker task ${message.id} failed: ${message.error}`);
        yielded = true;
        yield message.result;
      }
      if (exhausted && nextToYield === nextId) return;
      if (!yielded) await waitForEvent();
    }
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

/** Call from a worker script: answers each task with `handle(task, workerData)`. */
export function serveWorkerTasks<T, R, D = unknown>(handle: (task: T, workerData: D) => R | Promise<R>): void {
  if (!parentPort) throw new Error('serveWorkerTasks: not running in a worker thread');
  const port = parentPort;
  port.on('message', async (message: TaskMessage<T>) => {
    try {
      const result = await handle(message.task, threadData as D);
      port.postMessage({ id: message.id, ok: true, result } satisfies ResultMessage<R>);
    } catch (error) {
      port.postMessage({ id: message.id, ok: false, error: (error as Error)?.stack ?? String(error) } satisfies ResultMessage<R>);
    }
  });
}
