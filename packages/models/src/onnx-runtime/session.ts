import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describeQuantizeReport, quantizeMatMulsInt8, type QuantizeReport } from '../onnx/quantize';

export interface OnnxSessionOptions {
  /** Providers to try in order; the first that creates a session runs it. */
  executionProviders?: readonly string[];
  /** Threads of one op; onnxruntime-node's own default behaved like one thread here. */
  intraOpNumThreads?: number;
  /**
   * Whether idle intra-op threads spin waiting for work (onnxruntime's default) instead of sleeping.
   * Default false here: every session has its own thread pool, and a model served as two sessions
   * (Gap-ReLM's planner and infiller) run in turns had each pool's spinning threads take the cores
   * from the other (planner batch of 32: 8.6 ms alone, 17.5 ms alternating, 8.2 ms without spinning).
   */
  allowSpinning?: boolean;
  /**
   * Run the model with its constant-weight MatMuls in int8 (`quantizeMatMulsInt8`, applied to the
   * bytes before the session is made): faster on CPU, not bit-equal to float, and a row's outputs
   * can change with the rows it shares a run with. Default false. Untested on the CUDA provider.
   */
  int8?: boolean;
  /** One line per fallback and one for the provider that runs (default: none). */
  log?: (line: string) => void;
}

export interface OnnxSession<S = ort.InferenceSession> {
  session: S;
  /** The provider the session runs on. */
  provider: string;
  intraOpNumThreads: number;
  /** What `int8` quantized; absent without it. */
  quantized?: QuantizeReport;
}

export const DEFAULT_EXECUTION_PROVIDERS: readonly string[] = ['cuda', 'cpu'];

/** First line of an error message (onnxruntime's can be long). */
function reason(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0];
}

/**
 * Why the CUDA provider cannot load, known without trying it, or null. On Linux onnxruntime-node's
 * installer downloads the provider libraries beside its binding; when that step was skipped, a
 * native attempt fails anyway and prints an error line we cannot silence, so say why instead.
 */
function missingCudaLibrary(): string | null {
  if (process.platform !== 'linux') return null;
  const binding = join(dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json')), 'bin', 'napi-v6', 'linux', process.arch);
  for (const file of ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so']) {
    if (!existsSync(join(binding, file))) return `${file} is not installed in ${binding} (onnxruntime-node's install step was skipped or could not download it; see docs/onnx.md, GPU deployment)`;
  }
  return null;
}

/** The execution providers this onnxruntime-node build knows (`cpu`, `cuda`, ...), to check a user's list early. */
export function knownExecutionProviders(): string[] {
  return ort.listSupportedBackends().map((b) => b.name);
}

/**
 * An onnxruntime-node session on the first execution provider of `executionProviders` that
 * works. onnxruntime-node 1.30 does not fall back by itself (['cuda', 'cpu'] throws "Failed to
 * load shared library" when the CUDA binaries are absent), so each provider is tried alone.
 * A provider onnxruntime-node does not know is an error, not a fallback: it is a typo.
 * `open` makes the session (default `ort.InferenceSession.create`; a worker's for sessions that
 * run off the JS thread).
 */
export async function createOnnxSession(path: string | Uint8Array, options?: OnnxSessionOptions): Promise<OnnxSession>;
export async function createOnnxSession<S>(path: Uint8Array, options: OnnxSessionOptions, open: (path: Uint8Array, options: ort.InferenceSession.SessionOptions) => Promise<S>): Promise<OnnxSession<S>>;
export async function createOnnxSession(
  path: string | Uint8Array,
  options: OnnxSessionOptions = {},
  open: (path: never, options: ort.InferenceSession.SessionOptions) => Promise<unknown> = (p: string, o) => ort.InferenceSession.create(p, o),
): Promise<OnnxSession<unknown>> {
  const providers = options.executionProviders ?? DEFAULT_EXECUTION_PROVIDERS;
  const threads = options.intraOpNumThreads ?? availableParallelism();
  const log = options.log ?? (() => {});
  const where = typeof path === 'string' ? path : `<${path.length} bytes>`;
  if (providers.length === 0) throw new RangeError('createOnnxSession: executionProviders is empty; give at least one, e.g. ["cpu"]');
  if (!(Number.isInteger(threads) && threads >= 1)) throw new RangeError(`createOnnxSession: intraOpNumThreads must be an integer >= 1, got ${threads}`);
  const known = knownExecutionProviders();
  for (const p of providers) {
    if (!known.includes(p)) throw new RangeError(`createOnnxSession: unknown execution provider ${JSON.stringify(p)} in executionProviders [${providers.join(', ')}]; onnxruntime-node knows ${known.join(', ')}`);
  }
  let quantized: QuantizeReport | undefined;
  if (options.int8) {
    const q = quantizeMatMulsInt8(typeof path === 'string' ? readFileSync(path) : path);
    [path, quantized] = [q.bytes, q.report];
    log(`onnx: ${where}: ${describeQuantizeReport(q.report)}`);
  }
  const failures: string[] = [];
  for (const [i, provider] of providers.entries()) {
    const next = providers[i + 1];
    const missing = provider === 'cuda' ? missingCudaLibrary() : null;
    if (missing !== null) {
      failures.push(`${provider}: ${missing}`);
      // Not installed is the normal state of a CPU-only machine: one quiet line, not a failure.
      log(next === undefined ? `onnx: provider ${provider} failed (${missing})` : `onnx: provider ${provider} not installed (see docs/onnx.md, GPU deployment); using ${next}`);
      continue;
    }
    try {
      const session = await open(path as never, {
        executionProviders: [provider],
        intraOpNumThreads: threads,
        extra: { session: { intra_op: { allow_spinning: options.allowSpinning ? '1' : '0' } } },
      });
      log(`onnx: ${where} runs on provider ${provider} (${threads} threads)`);
      return { session, provider, intraOpNumThreads: threads, ...(quantized ? { quantized } : {}) };
    } catch (error) {
      failures.push(`${provider}: ${reason(error)}`);
      log(`onnx: provider ${provider} failed (${reason(error)})` + (next === undefined ? '' : `; trying ${next}`));
    }
  }
  throw new Error(`createOnnxSession: no execution provider could run ${where}: ${failures.join('; ')}`);
}
