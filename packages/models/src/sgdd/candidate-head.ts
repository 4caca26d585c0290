import type { GraphOps, GraphValue } from '../ops/graph-ops';
import type { SgddConfig } from './config';

/** The exported decoder's input that combines the guidance passes for the argmax head. */
export const SGDD_PASS_WEIGHTS = 'pass_weights';

/** Added to the [MASK] and [PAD] logits so the argmax never picks them and their exp is 0. */
const RULED_OUT = -1e30;

/**
 * The argmax step of MaskGIT decoding recorded into the exported decoder, so that at temperature 0
 * the `[P·N, V]` logits never leave onnxruntime (`DenoiserLogitsSource.candidatesAt` of
 * @proj/sampling; the host rule it must match is `maskGitDecode`'s). `logits` holds P passes of N
 * positions, pass-major (as `denoiseAt` stacks them); `passWeights` [P] combines them:
 * [s, 1 − s] for the conditional and unconditional pass at guidance scale s (s·cond + (1 − s)·uncond
 * = uncond + s·(cond − uncond)), [1] for one pass. Then [MASK] and [PAD] are ruled out, and per
 * position the argmax (ties to the lower id: ONNX ArgMax takes the first) and its log-probability
 * −log Σ exp(g − max). Returns `[N]` int64 tokens and `[N]` float log-probabilities.
 */
export function recordCandidateHead(g: GraphOps, logits: GraphValue, passWeights: GraphValue, config: SgddConfig): { tokens: GraphValue; logProbs: GraphValue } {
  const V = config.vocab_size;
  const [passes] = g.shape(passWeights);
  const stacked = g.reshape(logits, [passes, -1, V]);
  const guided = g.sum(g.mul(stacked, g.reshape(passWeights, [passes, 1, 1])), [0]);
  const ruledOut = new Float32Array(V);
  ruledOut[config.mask_token_id] = RULED_OUT;
  ruledOut[config.pad_token_id] = RULED_OUT;
  const scores = g.add(guided, g.constant(ruledOut, [V]));
  const [n] = g.shape(scores);
  const [tokens] = g.record('ArgMax', [scores], [{ dtype: 'int64', shape: [n] }], { axis: 1, keepdims: 0, select_last_index: 0 });
  const max = g.max(scores, [1], true);
  const logProbs = g.neg(g.log(g.sum(g.exp(g.sub(scores, max)), [1])));
  return { tokens, logProbs };
}
