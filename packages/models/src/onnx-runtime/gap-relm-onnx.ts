import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Correction, GapRelmDecodeConfig, InfillerLogitsSource, PlannerLogitsSource } from '@proj/sampling';
import { GapRelm } from '../gap-relm/gap-relm';
import { writeFileAtomic } from '@proj/core';
import { GAP_RELM_CONFIG_FILE, GapRelmCodec, SIMILAR_CHARS_FILE, type InfillerRun, type PlannerRun } from '../gap-relm/codec';
import { layoutInputNames } from '../gap-relm/inputs';
import { exportGapRelmToOnnx, gapRelmToOnnx } from '../onnx/export';
import { OnnxMaskedLM } from './masked-lm-onnx';
import { createOnnxSession, type OnnxSessionOptions } from './session';
import { float32Output, idFeeds, int64 } from './tensors';

/** Sub-directory of a Gap-ReLM model directory that holds planner.onnx and infiller.onnx. */
export const GAP_RELM_ONNX_DIR = 'onnx';

/** `<modelDir>/onnx`. */
export function gapRelmOnnxDir(modelDir: string): string {
  return join(modelDir, GAP_RELM_ONNX_DIR);
}

/**
 * The graphs `OnnxGapRelm.load(modelDir, { infiller })` needs that `<modelDir>/onnx/` lacks (full
 * paths): planner.onnx, and infiller.onnx unless an external infiller is given. Empty = loadable.
 */
export function missingGapRelmOnnx(modelDir: string, infiller?: string): string[] {
  const files = infiller === undefined ? ['planner.onnx', 'infiller.onnx'] : ['planner.onnx'];
  return files.map((file) => join(gapRelmOnnxDir(modelDir), file)).filter((path) => !existsSync(path));
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

/**
 * What `OnnxGapRelm.load` reads from a model directory: the ONNX graphs, the Gap-ReLM and encoder
 * configs and the tokenizer files. No weights: a directory of just these serves.
 */
export const GAP_RELM_SERVING_FILES: readonly string[] = [
  GAP_RELM_CONFIG_FILE,
  'planner/config.json',
  'infiller/config.json',
  `${GAP_RELM_ONNX_DIR}/planner.onnx`,
  `${GAP_RELM_ONNX_DIR}/infiller.onnx`,
];
/**
 * Files copied when present: the tokenizer's (a saved model has vocab.txt and the two configs)
 * and the similar-character table `similar_fill_bonus` decodes with.
 */
const OPTIONAL_SERVING_FILES = ['vocab.txt', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', SIMILAR_CHARS_FILE];

/**
 * Copies what serving needs from `modelDir` (which must hold `onnx/`, see `exportGapRelmOnnx`)
 * to `outDir`: a weights-free directory `OnnxGapRelm.load` and `gap-relm serve` run from, e.g.
 * to ship to a serving machine. Each file is written atomically; the Gap-ReLM config last, so a
 * directory that has it is complete. Returns the relative paths written.
 */
export async function writeGapRelmServingDir(modelDir: string, outDir: string): Promise<string[]> {
  const missing = GAP_RELM_SERVING_FILES.filter((file) => !existsSync(join(modelDir, file)));
  if (missing.length > 0) throw new Error(`writeGapRelmServingDir: ${modelDir} lacks ${missing.join(', ')}` + (missing.some((f) => f.startsWith(GAP_RELM_ONNX_DIR)) ? `; export it first with exportGapRelmOnnx('${modelDir}')` : ''));
  const files = [...OPTIONAL_SERVING_FILES.filter((file) => existsSync(join(modelDir, file))), ...GAP_RELM_SERVING_FILES.filter((f) => f !== GAP_RELM_CONFIG_FILE), GAP_RELM_CONFIG_FILE];
  for (const file of files) await writeFileAtomic(join(outDir, file), await readFile(join(modelDir, file)));
  return files;
}

export interface OnnxGapRelmOptions extends OnnxSessionOptions {
  /**
   * An infiller from elsewhere: a directory with a Hugging Face BERT masked LM exported to ONNX in
   * optimum's layout (model.onnx, config.json, tokenizer files), used instead of
   * `<dir>/onnx/infiller.onnx`. It reads the same source/template input with its own tokenizer
   * and no P-tuning prompts.
   */
  infiller?: string;
}

/** The infiller engine of our infiller.onnx: MLM logits at the mask positions only. */
function infillerRunOf(infiller: ort.InferenceSession): InfillerRun {
  return async (x) => {
    const outputs = await infiller.run({ ...idFeeds(x), mask_positions: int64(x.positions, [x.positions.length]) });
    return float32Output(outputs, 'logits', 'OnnxGapRelm.infillerRun').data;
  };
}

/**
 * Gap-ReLM decoding on onnxruntime-node: the planner and infiller graphs exported by
 * `exportGapRelmOnnx`, each in one session created at load and reused for every batch.
 *
 * Inputs are built by the model's `GapRelmCodec` (tokenizer, ids, prompts, padding, attention
 * masks, infiller windows, unfillable columns), the same code the tfjs engine uses, so both see
 * identical inputs. Loading reads only config and tokenizer files besides the .onnx graphs: no
 * tfjs backend and no safetensors weights are needed to serve.
 */
export class OnnxGapRelm {
  private constructor(
    readonly codec: GapRelmCodec,
    readonly planner: ort.InferenceSession,
    private readonly runInfiller: InfillerRun,
    private readonly releaseInfiller: () => Promise<void>,
    /** The execution provider the sessions run on. */
    readonly provider: string,
    readonly intraOpNumThreads: number,
  ) {}

  /**
   * A model directory written by `GapRelm.save` plus `<dir>/onnx/` from `exportGapRelmOnnx`
   * (`gap-relm predict --engine onnx` writes it on first use), or with `options.infiller` an
   * external optimum-layout masked LM as the infiller.
   */
  static async load(dir: string, options: OnnxGapRelmOptions = {}): Promise<OnnxGapRelm> {
    const onnxDir = gapRelmOnnxDir(dir);
    const [missing] = missingGapRelmOnnx(dir, options.infiller);
    if (missing !== undefined) {
      throw new Error(`OnnxGapRelm.load: ${missing} is missing; create ${onnxDir}/ with exportGapRelmOnnx('${dir}') or run \`gap-relm predict --engine onnx --model ${dir}\`, which exports it first`);
    }
    let codec = await GapRelmCodec.fromDirectory(dir);
    const planner = await createOnnxSession(join(onnxDir, 'planner.onnx'), options);
    // The infiller goes straight to the provider the planner settled on (no second fallback round).
    const same = { ...options, executionProviders: [planner.provider], intraOpNumThreads: planner.intraOpNumThreads };
    try {
      if (options.infiller !== undefined) {
        const mlm = await OnnxMaskedLM.load(options.infiller, same);
        codec = codec.withInfiller(mlm.tokenizer, mlm.config);
        options.log?.(`onnx: infiller ${options.infiller} (optimum layout, vocab ${mlm.config.vocabSize}, no P-tuning prompts)`);
        return new OnnxGapRelm(codec, planner.session, (x) => mlm.logitsAt(x, x.positions), () => mlm.release(), planner.provider, planner.intraOpNumThreads);
      }
      const infiller = (await createOnnxSession(join(onnxDir, 'infiller.onnx'), same)).session;
      const missingInputs = layoutInputNames(codec.infiller.layout).filter((name) => !infiller.inputNames.includes(name));
      if (missingInputs.length > 0) {
        await infiller.release();
        throw new Error(`OnnxGapRelm.load: ${join(onnxDir, 'infiller.onnx')} has no ${missingInputs.join(', ')} input, which the model's config asks for: it was exported before; re-export it with \`gap-relm export --model ${dir}\``);
      }
      return new OnnxGapRelm(codec, planner.session, infillerRunOf(infiller), () => infiller.release(), planner.provider, planner.intraOpNumThreads);
    } catch (error) {
      await planner.session.release();
      throw error;
    }
  }

  /**
   * Sessions on the current weights of an in-memory model, exported to ONNX bytes without touching
   * disk: what training's dev evaluation decodes with when steps run on onnxruntime. The sessions
   * keep a copy of the weights, so build a new one after the weights change.
   */
  static async fromModel(model: GapRelm, options: OnnxSessionOptions = {}): Promise<OnnxGapRelm> {
    const bytes = await gapRelmToOnnx(model);
    const planner = await createOnnxSession(bytes.planner, options);
    const same = { ...options, executionProviders: [planner.provider], intraOpNumThreads: planner.intraOpNumThreads };
    try {
      const infiller = (await createOnnxSession(bytes.infiller, same)).session;
      return new OnnxGapRelm(model.codec, planner.session, infillerRunOf(infiller), () => infiller.release(), planner.provider, planner.intraOpNumThreads);
    } catch (error) {
      await planner.session.release();
      throw error;
    }
  }

  /** The onnxruntime planner engine: one session run on padded inputs. */
  plannerRun(): PlannerRun {
    return async (x) => {
      const outputs = await this.planner.run(idFeeds(x));
      const op = float32Output(outputs, 'op_logits', 'OnnxGapRelm.plannerRun');
      const ins = float32Output(outputs, 'insert_logits', 'OnnxGapRelm.plannerRun');
      return { op: op.data, ins: ins.data, slots: op.dims[1] };
    };
  }

  /** The onnxruntime infiller engine (our infiller.onnx, or an optimum-layout masked LM). */
  infillerRun(): InfillerRun {
    return this.runInfiller;
  }

  /** Same contract and inputs as `GapRelm.plannerSource()`; only the engine differs. */
  plannerSource(): PlannerLogitsSource {
    return this.codec.plannerSource(this.plannerRun());
  }

  /** Same contract and inputs as `GapRelm.infillerSource()`; only the engine differs. */
  infillerSource(): InfillerLogitsSource {
    return this.codec.infillerSource(this.runInfiller);
  }

  /** Corrects `texts` with `correct()` of @proj/sampling, as `GapRelm.correct` does. */
  async correct(texts: string[], decode: Partial<GapRelmDecodeConfig> = {}): Promise<Correction[]> {
    return this.codec.correct(this.plannerSource(), this.infillerSource(), texts, decode);
  }

  async release(): Promise<void> {
    await this.planner.release();
    await this.releaseInfiller();
  }
}
