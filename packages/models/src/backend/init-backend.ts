import * as tf from '@tensorflow/tfjs-core';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { registerGradients } from './gradients';
import { registerKernelFixes } from './wasm-kernels';

export type BackendChoice = 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

export interface InitBackendOptions {
  /** Which backend to run; 'auto' tries tensorflow-gpu, tensorflow, wasm, cpu in that order. */
  backend?: BackendChoice;
  /** Intra-op threads for tfjs-node (TF_NUM_INTRAOP_THREADS); the wasm backend in Node is single-threaded (see README). */
  threads?: number;
}

export interface BackendInfo {
  /** The tfjs backend name now active: 'tensorflow', 'wasm' or 'cpu'. */
  name: string;
  /** One line for the log: package, version, SIMD/threads, fallbacks taken. */
  detail: string;
}

const CHOICES: readonly BackendChoice[] = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

// Resolved relative to this file so the wasm binaries are found from src/, dist/ or a consumer's node_modules.
const requireHere = createRequire(import.meta.url);

/** Dynamic import of an optional package by a computed name, so bundlers and tsc leave it alone. */
async function importOptional(name: string): Promise<unknown> {
  return import(/* @vite-ignore */ name);
}

async function tryTfjsNode(pkg: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node', threads?: number): Promise<BackendInfo> {
  // tfjs-node reads its thread count from the environment when its native module loads.
  if (threads !== undefined && process.env.TF_NUM_INTRAOP_THREADS === undefined) process.env.TF_NUM_INTRAOP_THREADS = String(threads);
  const mod = (await importOptional(pkg)) as { version?: Record<string, string> };
  if (!(await tf.setBackend('tensorflow'))) throw new Error(`${pkg} loaded but tf.setBackend('tensorflow') returned false`);
  const version = mod.version?.['tfjs-node'] ?? 'unknown version';
  return { name: 'tensorflow', detail: `${pkg} ${version}${threads ? `, ${threads} intra-op threads` : ''}` };
}

async function tryWasm(threads?: number): Promise<BackendInfo> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // In Node the .wasm files are read from disk: point tfjs at the package's own dist/ directory.
  const distDir = join(dirname(requireHere.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/';
  wasm.setWasmPaths(distDir);
  // The threaded SIMD build cannot start under Node: its pthread workers are created from
  // blob: URLs, which node:worker_threads rejects (ERR_WORKER_PATH), and a file-based worker
  // shim hangs before 'loaded'. So Node gets the single-threaded SIMD build.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  if (!(await tf.setBackend('wasm'))) throw new Error("tf.setBackend('wasm') returned false");
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  const threadNote = threads !== undefined && threads > 1 ? `; ${threads} threads requested but the threaded build does not start in Node, running 1` : '';
  return { name: 'wasm', detail: `@tensorflow/tfjs-backend-wasm ${wasm.version_wasm}, ${simd ? 'SIMD' : 'no SIMD'}, single-threaded${threadNote}` };
}

async function tryCpu(): Promise<BackendInfo> {
  await import('@tensorflow/tfjs-backend-cpu');
  if (!(await tf.setBackend('cpu'))) throw new Error("tf.setBackend('cpu') returned false");
  return { name: 'cpu', detail: `@tensorflow/tfjs-backend-cpu ${tf.version_core} (plain JS)` };
}

const message = (err: unknown) => (err instanceof Error ? err.message.split('\n')[0] : String(err));

/** 'not installed' for a missing optional package, else the first line of the error. */
function reason(err: unknown): string {
  const code = (err as { code?: string } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' ? 'not installed' : message(err);
}

/**
 * Selects and initializes the tfjs backend, registers the gradients and the wasm kernel fixes,
 * and returns which backend runs (callers print it). A forced backend that cannot load throws.
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  const { backend = 'auto', threads } = options;
  if (!CHOICES.includes(backend)) throw new RangeError(`initBackend: backend must be one of ${CHOICES.join(', ')}, got ${String(backend)}`);
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) {
    throw new RangeError(`initBackend: threads must be a positive integer, got ${threads}`);
  }
  registerGradients();

  const attempts: Record<Exclude<BackendChoice, 'auto'>, () => Promise<BackendInfo>> = {
    'tensorflow-gpu': () => tryTfjsNode('@tensorflow/tfjs-node-gpu', threads),
    tensorflow: () => tryTfjsNode('@tensorflow/tfjs-node', threads),
    wasm: () => tryWasm(threads),
    cpu: tryCpu,
  };
  if (backend !== 'auto') {
    try {
      const info = await attempts[backend]();
      registerKernelFixes();
      return info;
    } catch (err) {
      throw new Error(`initBackend: backend '${backend}' could not be loaded: ${message(err)}`, { cause: err });
    }
  }
  const skipped: string[] = [];
  for (const name of ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const) {
    try {
      const info = await attempts[name]();
      registerKernelFixes();
      return skipped.length > 0 ? { ...info, detail: `${info.detail}; skipped: ${skipped.join(', ')}` } : info;
    } catch (err) {
      skipped.push(`${name} (${reason(err)})`);
    }
  }
  throw new Error(`initBackend: no backend could be loaded: ${skipped.join(', ')}`);
}
