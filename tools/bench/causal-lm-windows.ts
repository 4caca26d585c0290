// MateConv's pretraining task as the benchmarks run it: next-token loss on fixed windows of the
// bundled Chinese Wikipedia corpus tokenized by minimind's tokenizer (causal-lm-speed.ts and
// train-step-profile.ts share it, so both time the same task).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BpeTokenizer, type CausalLm, type HostBatch, type Ops, type OpsInput, type OpsTaskSpec } from '@proj/models';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** The bundled corpus as one token stream (BOS + ids + EOS per sentence), as `mateconv prepare` packs it. */
export async function corpusTokens(): Promise<Int32Array> {
  const tokenizer = await BpeTokenizer.fromDirectory(join(root, 'apps/mateconv/data/tokenizers/minimind'));
  const lines = readFileSync(join(root, 'apps/gap-relm/data/corpus/wiki.zh-cn.txt'), 'utf8').split('\n').filter((s) => s.trim() !== '');
  const ids = await tokenizer.encodeBatch(lines, { addSpecialTokens: false });
  const [bos, eos] = [tokenizer.special.bos?.id, tokenizer.special.eos?.id];
  return Int32Array.from(ids.flatMap((row) => [...(bos === undefined ? [] : [bos]), ...row, ...(eos === undefined ? [] : [eos])]));
}

/**
 * The task over `corpus` cut into windows of `seqLen` (targets = the window shifted by one);
 * `onBatch` sees every batch built (to record them for PyTorch).
 */
export function causalLmWindowsSpec(
  model: CausalLm,
  corpus: Int32Array,
  seqLen: number,
  io: { onBatch?: (batch: HostBatch) => void; saveWeights?: (dir: string) => Promise<void> } = {},
) {
  return {
    name: 'bench/causal-lm',
    describe: () => 'causal LM windows',
    store: model.params,
    numExamples: () => Math.floor((corpus.length - 1) / seqLen),
    inputs: [
      { name: 'input_ids', dtype: 'int32', shape: ['batch', seqLen] },
      { name: 'targets', dtype: 'int32', shape: ['batch', seqLen] },
    ] satisfies OpsInput[],
    batch: (indices: readonly number[]) => {
      const [inputs, targets] = [new Int32Array(indices.length * seqLen), new Int32Array(indices.length * seqLen)];
      indices.forEach((w, r) => {
        inputs.set(corpus.subarray(w * seqLen, (w + 1) * seqLen), r * seqLen);
        targets.set(corpus.subarray(w * seqLen + 1, (w + 1) * seqLen + 1), r * seqLen);
      });
      const batch = { input_ids: { data: inputs, shape: [indices.length, seqLen] }, targets: { data: targets, shape: [indices.length, seqLen] } };
      io.onBatch?.(batch);
      return batch;
    },
    loss: <T>(ops: Ops<T>, x: Record<string, T>): T => model.loss(ops, x.input_ids, x.targets),
    tokens: (b: HostBatch) => b.input_ids.data.length,
    saveWeights: io.saveWeights ?? (async () => {}),
    loadWeights: async () => {},
  } satisfies OpsTaskSpec;
}
