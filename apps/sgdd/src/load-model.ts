import { BertTokenizer, SentenceEncoder, initBackend, loadSgdd, type BackendChoice, type SgddModel } from '@proj/models';
import { CliError, log, type CliIO } from './cli-io';
import { readAppInfo, type AppInfo } from './encoder';
import type { EngineChoice } from './engine';

export interface LoadedModel {
  model: SgddModel;
  tokenizer: BertTokenizer;
  app: AppInfo;
  /** The tfjs backend holding the weights (and computing with --engine tfjs or the dev loss). */
  backend: string;
  /** The frozen encoder, on onnxruntime. */
  encoder: SentenceEncoder;
  dispose(): Promise<void>;
}

/**
 * A trained model directory with what sampling needs: the decoder (tfjs weights; the onnx engine
 * exports them in memory), its tokenizer (copied beside it by `train`) and the frozen encoder.
 * Sampling computes on the engine; the tfjs backend holds the weights and computes `eval`'s dev
 * loss with either engine, so it is the chosen one (auto: wasm here) even with --engine onnx:
 * tfjs-cpu took over 20 minutes for 300 dev sentences at hidden 512.
 */
export async function loadModel(dir: string, flag: string, engine: EngineChoice, backend: BackendChoice, io: CliIO): Promise<LoadedModel> {
  const app = await readAppInfo(dir, flag);
  const b = await initBackend({ backend });
  if (engine === 'tfjs') log(io, `backend: ${b.name} (${b.detail})`);
  const tokenizer = await BertTokenizer.fromDirectory(dir);
  let encoder: SentenceEncoder;
  try {
    encoder = await SentenceEncoder.fromDirectory(app.encoder_dir, { padId: tokenizer.padId, executionProviders: ['cpu'] });
  } catch (error) {
    throw new CliError(`${flag}: the encoder ${app.encoder_dir} of ${dir} cannot be read: ${(error as Error).message.split('\n')[0]}`);
  }
  const model = await loadSgdd(dir);
  if (model.config.semantic_size !== encoder.size) throw new CliError(`${flag}: ${dir} expects vectors of ${model.config.semantic_size}, its encoder gives ${encoder.size}`);
  return {
    model,
    tokenizer,
    app,
    backend: b.name,
    encoder,
    async dispose() {
      model.dispose();
      await encoder.release();
    },
  };
}
