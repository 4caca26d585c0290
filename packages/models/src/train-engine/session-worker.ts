import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type * as ort from 'onnxruntime-node';

/** A tensor crossing to the worker: its buffer is transferred (not copied) and comes back with the reply. */
export interface WireTensor {
  type: 'float32' | 'int64';
  data: Float32Array | BigInt64Array;
  dims: readonly number[];
}

/** What a run gives back: every fed and pre-allocated array (the same memory, re-attached) and the other outputs. */
export interface WorkerRunResult {
  feeds: Record<string, WireTensor['data']>;
  fetches: Record<string, WireTensor['data']>;
  outputs: Record<string, WireTensor>;
}

/** A session that lives in the worker. */
export interface WorkerSession {
  /** Transfers every given buffer to the worker and back; a failed run does not return them. */
  run(feeds: Record<string, WireTensor>, fetches: Record<string, WireTensor | null>): Promise<WorkerRunResult>;
  release(): Promise<void>;
}

// The worker, as plain CommonJS source (eval'd: no file to bundle or transpile). It owns the
// sessions; each message carries its own buffers, so nothing is shared between the threads.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ort);
const sessions = new Map();
const tensor = (t) => new ort.Tensor(t.type, t.data, t.dims);
const buffers = (records) => [...new Set(records.flatMap((r) => Object.values(r).map((d) => d.buffer)))];
async function handle(m) {
  if (m.op === 'create') {
    sessions.set(m.session, await ort.InferenceSession.create(m.bytes, m.options));
    return [{}, []];
  }
  if (m.op === 'release') {
    await sessions.get(m.session)?.release();
    sessions.delete(m.session);
    return [{}, []];
  }
  const feeds = {};
  const fetches = {};
  for (const [name, t] of Object.entries(m.feeds)) feeds[name] = tensor(t);
  for (const [name, t] of Object.entries(m.fetches)) fetches[name] = t === null ? null : tensor(t);
  const out = await sessions.get(m.session).run(feeds, fetches);
  // onnxruntime-node writes pre-allocated outputs in place and also returns a copy of each: the
  // copies are dropped, the given arrays go back.
  const back = { feeds: {}, fetches: {}, outputs: {} };
  const outputData = {};
  for (const [name, t] of Object.entries(m.feeds)) back.feeds[name] = t.data;
  for (const [name, t] of Object.entries(m.fetches)) {
    if (t !== null) back.fetches[name] = t.data;
    else {
      back.outputs[name] = { type: out[name].type, data: out[name].data, dims: out[name].dims };
      outputData[name] = out[name].data;
    }
  }
  return [back, buffers([back.feeds, back.fetches, outputData])];
}
parentPort.on('message', (m) => {
  handle(m).then(
    ([result, transfer]) => parentPort.postMessage({ id: m.id, result }, transfer),
    (error) => parentPort.postMessage({ id: m.id, error: error instanceof Error ? error.message : String(error) }),
  );
});
`;

/**
 * onnxruntime sessions in a worker thread. onnxruntime-node 1.30 runs a session synchronously on
 * the thread that calls `run` (its promise only defers the call with setImmediate), so a session
 * on the JS thread blocks it for the whole run; in the worker, the JS thread is free to build
 * the next batch meanwhile. Each run transfers the buffers of its feeds and pre-allocated
 * outputs to the worker and back (ownership moves, nothing is copied): while a run is out, the
 * caller's views of those buffers are detached, and it takes the returned ones.
 */
export class SessionWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private nextId = 0;
  private nextSession = 0;
  private failed: Error | null = null;

  constructor() {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ort: createRequire(import.meta.url).resolve('onnxruntime-node') } });
    this.worker.unref(); // held only while a request is out
    this.worker.on('message', (m: { id: number; result?: unknown; error?: string }) => {
      const p = this.pending.get(m.id)!;
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.worker.unref();
      if (m.error !== undefined) p.reject(new Error(m.error));
      else p.resolve(m.result);
    });
    this.worker.on('error', (error) => this.fail(error));
    this.worker.on('exit', (code) => this.fail(new Error(`SessionWorker: the worker exited (code ${code})`)));
  }

  private fail(error: Error): void {
    this.failed ??= error;
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }

  private request<R>(message: Record<string, unknown>, transfer: ArrayBuffer[]): Promise<R> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    return new Promise<R>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.worker.ref();
      this.worker.postMessage({ ...message, id }, transfer);
    });
  }

  /** A session of `bytes` (an ONNX model) in the worker, with onnxruntime's session options; fits `createOnnxSession`'s `open`. */
  async create(bytes: Uint8Array, options: ort.InferenceSession.SessionOptions): Promise<WorkerSession> {
    const session = this.nextSession++;
    await this.request({ op: 'create', session, bytes, options }, []);
    return {
      run: (feeds, fetches) => {
        const arrays = [...Object.values(feeds), ...Object.values(fetches)].flatMap((t) => (t === null ? [] : [t.data.buffer as ArrayBuffer]));
        return this.request<WorkerRunResult>({ op: 'run', session, feeds, fetches }, [...new Set(arrays)]);
      },
      release: () => this.request<void>({ op: 'release', session }, []),
    };
  }

  /** Stops the worker (its sessions go with it). */
  async terminate(): Promise<void> {
    this.failed ??= new Error('SessionWorker: terminated');
    await this.worker.terminate();
  }
}
