import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { correct, type Correction, type GapRelmDecodeConfig, type InfillerLogitsSource, type PlannerLogitsSource } from '@proj/sampling';
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
 * Inputs are built by the model's own GapRelm (same tokenizer, ids, prompts, padding, attention
 * masks and infiller windows as the tfjs sources), so both engines see identical inputs. That
 * GapRelm's weights are freed right after loading: only its input building is used.
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

  /** Same contract as `GapRelm.plannerSource()`. */
  plannerSource(): PlannerLogitsSource {
    const m = this.shape;
    const k1 = m.config.max_insert_k + 1;
    return {
      plan: async ({ sourceTokens }) => {
        if (sourceTokens.length === 0) return { opLogits: [], insertLogits: [] };
        const sources = sourceTokens.map((t) => m.ids.ids(t.slice(0, m.maxPlannerTokens)));
        const outputs = await this.planner.run(idFeeds(m.plannerInputs(sources)));
        const op = float32Output(outputs, 'op_logits', 'OnnxGapRelm.plannerSource');
        const ins = float32Output(outputs, 'insert_logits', 'OnnxGapRelm.plannerSource');
        const slots = op.dims[1];
        // As GapRelm.plannerSource: rows 0..read from the model, then certain KEEP / 0 insertions.
        const rows = (data: Float32Array, width: number, b: number, n: number, read: number) => {
          const out = new Float32Array((n + 1) * width);
          out.set(data.subarray(b * slots * width, (b * slots + read + 1) * width));
          for (let r = read + 1; r <= n; r++) for (let c = 0; c < width; c++) out[r * width + c] = c === 0 ? 0 : -Infinity;
          return out;
        };
        return {
          opLogits: sourceTokens.map((t, b) => rows(op.data, 3, b, t.length, sources[b].length)),
          insertLogits: sourceTokens.map((t, b) => rows(ins.data, k1, b, t.length, sources[b].length)),
        };
      },
    };
  }

  /** Same contract as `GapRelm.infillerSource()` (one-code-point columns only). */
  infillerSource(): InfillerLogitsSource {
    const m = this.shape;
    const V = m.bertConfig.vocabSize;
    const vocab = Array.from({ length: V }, (_, i) => (i < m.tokenizer.vocab.size ? m.tokenizer.vocab.tokenOf(i) : `[unused-column-${i}]`));
    const fillable = new Uint8Array(V);
    fillable.set(m.ids.fillable());
    // GapRelm's windowing is private; it is input building, shared on purpose so both engines cut alike.
    const windows = (source: readonly string[], template: readonly string[], masks: readonly number[]) => m['windows'](source, template, masks);
    return {
      vocab,
      fill: async ({ sourceTokens, templates, maskPositions }) => {
        if (templates.length === 0) return { logits: [] };
        const items = templates.flatMap((template, b) => windows(sourceTokens[b], template, maskPositions[b]));
        const x = m.infillerInputs(
          items.map((w) => m.ids.ids(w.source)),
          items.map((w) => m.ids.ids(w.template)),
          items.map((w) => w.masks),
        );
        if (x.positions.length === 0) return { logits: templates.map(() => new Float32Array(0)) };
        const outputs = await this.infiller.run({ ...idFeeds(x), mask_positions: int64(x.positions, [x.positions.length]) });
        const data = float32Output(outputs, 'logits', 'OnnxGapRelm.infillerSource').data;
        for (let i = 0; i < data.length; i++) if (fillable[i % V] === 0) data[i] = -Infinity;
        const out: Float32Array[] = [];
        let row = 0;
        for (const masks of maskPositions) {
          out.push(data.slice(row * V, (row + masks.length) * V));
          row += masks.length;
        }
        return { logits: out };
      },
    };
  }

  /** Corrects `texts` with `correct()` of @proj/sampling, as `GapRelm.correct` does. */
  async correct(texts: string[], decode: Partial<GapRelmDecodeConfig> = {}): Promise<Correction[]> {
    const config: Partial<GapRelmDecodeConfig> = { ...decode };
    if (this.shape.config.no_insert) config.noInsert = true;
    if (this.shape.config.no_delete) config.noDelete = true;
    return correct(texts, { planner: this.plannerSource(), infiller: this.infillerSource(), config });
  }

  async release(): Promise<void> {
    await this.planner.release();
    await this.infiller.release();
  }
}
