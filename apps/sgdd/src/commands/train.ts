import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Rng } from '@proj/core';
import { BertTokenizer, SgddModel, createOnnxEngine, createSgddOpsTask, initBackend, loadBertCheckpoint, loadSgdd, saveSgdd, type BackendChoice, type BertModel } from '@proj/models';
import { train } from '@proj/trainer';
import { Option, type Command } from 'commander';
import { CliError, log, type CliIO } from '../cli-io';
import { readPrepareInfo, readSplit, type PrepareInfo } from '../data';
import { readAppInfo, writeAppInfo } from '../encoder';
import { openSampler, type Engine } from '../engine';
import { evaluateSgdd, type EvalSummary } from '../evaluate';
import { numberFlag } from '../flags';
import { decoderConfig, loadPhaseConfig, type PhaseConfig } from '../phase-config';

export interface TrainCommandOptions {
  config: string;
  outputDir?: string;
  maxSteps?: number;
  resumeFrom?: string;
  backend: BackendChoice;
  /** Where the training steps run: onnx (onnxruntime-node), tfjs (--backend); auto = onnx. */
  engine: 'auto' | 'onnx' | 'tfjs';
  /** The decoder engine of the final evaluation. */
  evalEngine: Engine;
  progress: boolean;
}

export interface TrainSummary {
  phase: string;
  stopped: string;
  global_step: number;
  best_step: number;
  best_dev_loss: number | null;
  seconds: number;
  parameters: number;
  backend: string;
  engine: string;
  model_dir: string;
  final_dir: string;
  eval: EvalSummary | null;
}

/**
 * One phase: reads the phase config, builds the decoder (from `init_from`, or new:
 * `createDecoder`), trains it on the shared trainer with the dev loss picking best/, saves
 * final/, then scores best/ on the dev split.
 */
export async function runTrain(o: TrainCommandOptions, io: CliIO): Promise<TrainSummary> {
  const pc = await loadPhaseConfig(o.config);
  const outputDir = o.outputDir ?? pc.train.output_dir;
  if (o.resumeFrom !== undefined && !existsSync(o.resumeFrom)) throw new CliError(`--resume-from: not found: ${o.resumeFrom}`);
  const info = await readPrepareInfo(pc.data, `${o.config}: data`);
  if (info.task !== pc.phase) throw new CliError(`${o.config}: phase is ${pc.phase} but ${pc.data} was prepared for ${info.task}`);
  const backend = await initBackend({ backend: o.backend });
  log(io, `backend: ${backend.name} (${backend.detail})`);
  const tokenizer = await BertTokenizer.fromDirectory(info.encoder_dir);

  let model: SgddModel;
  if (pc.init_from !== undefined) {
    await readAppInfo(pc.init_from, `${o.config}: init_from`);
    model = await loadSgdd(pc.init_from);
    if (Object.keys(pc.model).length) log(io, `train: init_from ${pc.init_from}: its decoder config is used; the file's model fields are ignored`);
    if (model.config.semantic_size !== info.vector_size || model.config.vocab_size !== info.vocab_size) {
      model.dispose();
      throw new CliError(`${o.config}: init_from ${pc.init_from} has semantic_size ${model.config.semantic_size} and vocab_size ${model.config.vocab_size}; the data has ${info.vector_size} and ${info.vocab_size}`);
    }
    log(io, `train: initialised from ${pc.init_from}`);
  } else model = await createDecoder(pc, info, o.config, io);

  try {
    const [trainSplit, devSplit] = [await readSplit(pc.data, 'train', info), await readSplit(pc.data, 'dev', info)];
    const examples = (s: typeof trainSplit, limit = Infinity) => ({ rows: s.records.slice(0, limit).map((r) => Int32Array.from(r.ids)), vectors: s.vectors.slice(0, limit) });
    const task = createSgddOpsTask(model, { phase: pc.phase, train: examples(trainSplit), dev: examples(devSplit, pc.dev_limit) });
    log(io, `train: ${pc.phase} on ${trainSplit.records.length} examples, dev loss on ${Math.min(pc.dev_limit, devSplit.records.length)}; config ${o.config}`);
    const engine = o.engine === 'tfjs' ? 'tfjs' : 'onnx';
    log(io, `engine: ${engine === 'onnx' ? 'onnx (training steps on onnxruntime-node; dev loss on tfjs)' : `tfjs (${backend.name})`}${o.engine === 'auto' ? ', from --engine auto' : ''}`);
    const started = performance.now();
    // SIGINT / SIGTERM stop after the current step: a checkpoint, final/ and the evaluation still happen.
    const stop = new AbortController();
    const onSignal = () => {
      log(io, 'train: stopping after this step (signal)');
      stop.abort();
    };
    process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
    const result = await train({ ...pc.train, output_dir: outputDir, ...(o.maxSteps !== undefined && { max_steps: o.maxSteps }) }, task, {
      resumeFrom: o.resumeFrom,
      log: io.stderr,
      signal: stop.signal,
      engine: engine === 'onnx' ? createOnnxEngine({ log: (l) => log(io, l) }) : undefined,
    }).finally(() => process.off('SIGINT', onSignal).off('SIGTERM', onSignal));
    const seconds = (performance.now() - started) / 1000;
    const finalDir = join(outputDir, 'final');
    await mkdir(finalDir, { recursive: true });
    await saveSgdd(model, finalDir);
    const appInfo = { phase: pc.phase, encoder: info.encoder, encoder_dir: info.encoder_dir };
    await writeAppInfo(finalDir, appInfo);
    const bestDir = join(outputDir, 'best');
    let modelDir = finalDir;
    if (existsSync(join(bestDir, 'sgdd_config.json'))) {
      await writeAppInfo(bestDir, appInfo);
      modelDir = bestDir;
    }
    log(io, `train: ${result.stopped} at step ${result.global_step} in ${seconds.toFixed(0)} s; model in ${modelDir}`);
    let evalSummary: EvalSummary | null = null;
    if (pc.eval.samples > 0) {
      const best = modelDir === finalDir ? model : await loadSgdd(modelDir);
      try {
        const sampler = await openSampler(best, modelDir, o.evalEngine, io, backend.name);
        try {
          evalSummary = await evaluateSgdd(best, tokenizer, devSplit, { phase: pc.phase, lossLimit: pc.dev_limit, samples: pc.eval.samples, steps: pc.eval.steps, guidance: pc.eval.guidance, temperature: 0, seed: pc.train.seed, batchSize: 32, sampler, progress: o.progress, show: 5 }, io);
        } finally {
          await sampler.release();
        }
      } finally {
        if (best !== model) best.dispose();
      }
    }
    return {
      phase: pc.phase,
      stopped: result.stopped,
      global_step: result.global_step,
      best_step: result.best_step,
      best_dev_loss: result.best_metric,
      seconds: Number(seconds.toFixed(1)),
      parameters: model.params.count(),
      backend: backend.name,
      engine,
      model_dir: modelDir,
      final_dir: finalDir,
      eval: evalSummary,
    };
  } finally {
    model.dispose();
  }
}

/**
 * A new decoder, seeded by train.seed: random, then the token embeddings copied from the encoder's
 * word embeddings when the widths match, and with `init_blocks_from_encoder` its layers copied
 * from the encoder's (a shape mismatch is an error naming the key and the shapes).
 */
export async function createDecoder(pc: PhaseConfig, info: PrepareInfo, file: string, io: CliIO): Promise<SgddModel> {
  const config = decoderConfig(pc.model, { vocab_size: info.vocab_size, ...info.special_ids, vectorSize: info.vector_size }, file);
  const model = SgddModel.random(config, new Rng(pc.train.seed));
  if (config.hidden_size !== info.vector_size && !pc.init_blocks_from_encoder) {
    log(io, `train: hidden_size ${config.hidden_size} differs from the encoder's ${info.vector_size}: token embeddings start random`);
    return model;
  }
  const { model: bert } = await loadBertCheckpoint(info.encoder_dir);
  const encoder: BertModel = 'bert' in bert ? bert.bert : bert;
  try {
    if (encoder.config.hiddenSize === config.hidden_size) {
      model.initTokenEmbeddingsFrom(encoder);
      log(io, `train: token embeddings initialised from the encoder's word embeddings`);
    }
    if (pc.init_blocks_from_encoder) {
      const encoderShape = `${encoder.config.numHiddenLayers} layers, hidden ${encoder.config.hiddenSize}, ${encoder.config.numAttentionHeads} heads, FFN ${encoder.config.intermediateSize}`;
      try {
        model.initBlocksFromEncoder(encoder);
      } catch (e) {
        if (!(e instanceof RangeError)) throw e;
        throw new CliError(`${file}: init_blocks_from_encoder: ${e.message.replace(/^SgddModel\.initBlocksFromEncoder: /, '')} (encoder ${info.encoder}: ${encoderShape})`);
      }
      log(io, `train: decoder layers 0-${config.num_hidden_layers - 1} initialised from the encoder's (${encoderShape})${config.absolute_positions ? ', positions too' : ''}`);
    }
    return model;
  } catch (e) {
    model.dispose();
    throw e;
  } finally {
    bert.dispose();
  }
}

export function registerTrain(program: Command, io: CliIO, report: (r: unknown) => void): void {
  program
    .command('train')
    .description('Train one SGDD phase (reconstruction, or paraphrase from a phase-1 model) from a YAML or JSON phase config; scores best/ on the dev split')
    .requiredOption('--config <file>', 'phase config (.yaml, .yml or .json); see configs/')
    .option('--output-dir <dir>', "run dir (default: the config's train.output_dir)")
    .option('--max-steps <n>', 'override train.max_steps', numberFlag('--max-steps', { integer: true, min: 0 }))
    .option('--resume-from <dir>', 'a checkpoint-<step>/ or run dir to continue exactly')
    .addOption(new Option('--backend <name>', 'tfjs compute backend for training').choices(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('auto'))
    .addOption(new Option('--engine <name>', 'where training steps run: onnx (onnxruntime-node), tfjs (--backend); auto = onnx').choices(['auto', 'onnx', 'tfjs']).default('auto'))
    .addOption(new Option('--eval-engine <name>', 'decoder engine of the final evaluation (onnx: the weights exported in memory)').choices(['onnx', 'tfjs']).default('onnx'))
    .option('--no-progress', 'no progress lines')
    .action(async (opts: TrainCommandOptions) => report(await runTrain(opts, io)));
}
