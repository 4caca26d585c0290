import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Correction, GapRelmDecodeConfig, InfillerLogitsSource, PlannerLogitsSource } from '@proj/sampling';
import { GapRelm } from '../gap-relm/gap-relm';
import type { PaddedInputs } from '../gap-relm/inputs';
import { exportGapRelmToOnnx } from '../onnx/export';
import { createOnnxSession, type OnnxSessionOptions } from './session';

/** Sub-directory of a Gap-ReLM model directory that holds planner.onnx and infiller.onnx. */
export const GAP_RELM_ONNX_DIR = 'onnx';

/** `<modelDir>/onnx`. */
export function gapRelmOnnxDir(modelDir: string): string {
  return join(modelDir, GAP_RELM_ONNX_DIR);
}

/**
 * Loads the model in `modelDir` with tfjs (a tfjs backend must be initialised) and writes
 * `<modelDir>/onnx/{planner,infiller}.onnx`. Returns that directory.
 */
export async function exportGapRelmOnnx(modelDir: string): Promise<string> {
  const out = gapRelmOnnxDir(modelDir);
  const model = await GapRelm.load(modelDir);
  try {
    await mkdir(out, { recursive: true });
    await exportGapRelmToOnnx(model, out);
  } finally {
    model.dispose();
  }
  return out;
}

/** int32 ids → the int64 tensor the exported graphs take. */
function int64(values: Int32Array, dims: number[]): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(values, (v) => BigInt(v)), dims);
}

function idFeeds(x: PaddedInputs): Record<string, ort.Tensor> {
  const dims = [x.batch, x.length];
  return { input_ids: int64(x.inputIds, dims), attention_mask: int64(x.attentionMask, dims), token_type_ids: int64(x.tokenTypeIds, dims) };
}

function float32Output(outputs: ort.InferenceSession.OnnxValueMapType, name: string, where: string): { data: Float32Array; dims: readonly number[] } {
  const t = outputs[name] as ort.Tensor | undefined;
  if (t === undefined || t.type !== 'float32') throw new Error(`${where}: the session returned no float32 output '${name}'`);
  return { data: t.data as Float32Array, dims: t.dims };
}

/**
 * Gap-ReLM decoding on onnxruntime-node: the planner and infiller graphs exported by
 * `exportGapRelmOnnx`, each in one session created at load and reused for every batch.
 *
 * The logits sources are GapRelm's own (`plannerSourceOver` / `infillerSourceOver`: tokenizer,
 * ids, prompts, padding, attention masks, infiller windows, unfillable columns) with onnxruntime
 * as the engine, so both engines see identical inputs. That GapRelm's weights are freed right
 * after loading: only its input building is used.
 */
export class OnnxGapRelm {
  private constructor(
    /** Input building only; its weights are disposed. */
    private readonly shape: GapRelm,
    readonly planner: ort.InferenceSession,
    readonly infiller: ort.InferenceSession,
    /** The execution provider the sessions run on. */
    readonly provider: string,
    readonly intraOpNumThreads: number,
  ) {}

  /**
   * A model directory written by `GapRelm.save` plus `<dir>/onnx/` from `exportGapRelmOnnx`
   * (`gap-relm predict --engine onnx` writes it on first use). Needs a tfjs backend to read the
   * tokenizer and config the same way GapRelm does.
   */
  static async load(dir: string, options: OnnxSessionOptions = {}): Promise<OnnxGapRelm> {
    const onnxDir = gapRelmOnnxDir(dir);
    for (const file of ['planner.onnx', 'infiller.onnx']) {
      if (!existsSync(join(onnxDir, file))) {
        throw new Error(`OnnxGapRelm.load: ${join(onnxDir, file)} is missing; create ${onnxDir}/ with exportGapRelmOnnx('${dir}') or run \`gap-relm predict --engine onnx --model ${dir}\`, which exports it first`);
      }
    }
    const model = await GapRelm.load(dir);
    model.dispose();
    const planner = await createOnnxSession(join(onnxDir, 'planner.onnx'), options);
    // The infiller goes straight to the provider the planner settled on (no second fallback round).
    const infiller = await createOnnxSession(join(onnxDir, 'infiller.onnx'), { ...options, executionProviders: [planner.provider], intraOpNumThreads: planner.intraOpNumThreads });
    return new OnnxGapRelm(model, planner.session, infiller.session, planner.provider, planner.intraOpNumThreads);
  }

  /** Same contract and inputs as `GapRelm.plannerSource()`; only the engine differs. */
  plannerSource(): PlannerLogitsSource {
    return this.shape.plannerSourceOver(async (x) => {
      const outputs = await this.planner.run(idFeeds(x));
      const op = float32Output(outputs, 'op_logits', 'OnnxGapRelm.plannerSource');
      const ins = float32Output(outputs, 'insert_logits', 'OnnxGapRelm.plannerSource');
      return { op: op.data, ins: ins.data, slots: op.dims[1] };
    });
  }

  /** Same contract and inputs as `GapRelm.infillerSource()`; only the engine differs. */
  infillerSource(): InfillerLogitsSource {
    return this.shape.infillerSourceOver(async (x) => {
      const outputs = await this.infiller.run({ ...idFeeds(x), mask_positions: int64(x.positions, [x.positions.length]) });
      return float32Output(outputs, 'logits', 'OnnxGapRelm.infillerSource').data;
    });
  }

  /** Corrects `texts` with `correct()` of @proj/sampling, as `GapRelm.correct` does. */
  async correct(texts: string[], decode: Partial<GapRelmDecodeConfig> = {}): Promise<Correction[]> {
    return this.shape.correctWith(this.plannerSource(), this.infillerSource(), texts, decode);
  }

  async release(): Promise<void> {
    await this.planner.release();
    await this.infiller.release();
  }
}
