import type { Ops } from '../ops/ops';

/** Parameter prefixes of one mixture-of-experts FFN (minimind's names: `mlp.gate`, `mlp.experts.<e>`, `mlp.shared_experts`). */
export interface MoeNames {
  /** The router, `${router}.weight` [numExperts, hidden]. */
  router: string;
  /** SwiGLU experts: `${expert}.{gate_proj,up_proj,down_proj}.weight`. */
  experts: string[];
  /** Experts every token goes through with weight 1 (no routing). */
  shared: string[];
}

export interface MoeOptions {
  /** Experts per token (k of top-k). */
  topK: number;
  /** Renormalise the k selected gate probabilities to sum to 1 (minimind's norm_topk_prob). */
  normTopKProb: boolean;
}

export interface MoeOutput<T> {
  /** [..., hidden], the input's shape. */
  output: T;
  /**
   * Switch-style balance term E · Σ_e f_e · P_e (unweighted): f_e the share of the N·k routing
   * slots that go to expert e, P_e its mean router probability. 1 when routing is uniform.
   */
  balance: T;
  /** f_e, [numExperts]: the share of routing slots each expert got (sums to 1). */
  load: T;
}

/**
 * A 0/1 float mask [N, E] of the k largest entries of each row of `scores` [N, E], from ReduceMax,
 * Equal and Where only (so a recorded graph needs no TopK and no gradient rule for it). Each round
 * takes the row maximum and knocks it out with -1 (scores are probabilities, all >= 0). An exact
 * tie at the k-th place selects every tied entry, which continuous router scores make improbable.
 */
export function topKMask<T>(ops: Ops<T>, scores: T, k: number): T {
  const numExperts = ops.shape(scores)[1];
  if (!Number.isInteger(k) || k < 1 || (typeof numExperts === 'number' && k > numExperts)) {
    throw new RangeError(`topKMask: k must be an integer in 1..${numExperts}, got ${k}`);
  }
  let remaining = scores;
  let mask: T | undefined;
  for (let round = 0; round < k; round++) {
    const hit = ops.equal(remaining, ops.max(remaining, [1], true));
    const picked = ops.cast(hit, 'float32');
    mask = mask === undefined ? picked : ops.add(mask, picked);
    if (round + 1 < k) remaining = ops.where(hit, ops.scalar(-1), remaining);
  }
  return mask!;
}

/** The [E·m, H] stack of one projection over experts (rows of expert 0, then expert 1, ...). */
function stacked<T>(ops: Ops<T>, prefixes: string[], projection: string): T {
  const weights = prefixes.map((p) => ops.param(`${p}.${projection}.weight`));
  return weights.length === 1 ? weights[0] : ops.concat(weights, 0);
}

/**
 * Mixture-of-experts SwiGLU FFN (minimind's MOEFeedForward): router probabilities softmax(x Wr^T),
 * the top-k experts per token with their probabilities (renormalised when `normTopKProb`), plus
 * shared experts at weight 1. Computed densely: every expert runs on every token and unselected
 * experts get weight 0. At these sizes (4–8 experts, hidden <= 512) that is three matrix products
 * over the stacked expert weights, [N, H] x [H, E·m], instead of gathering tokens per expert,
 * and it records as plain ONNX ops that the autodiff rules already cover.
 */
export function moeFeedForward<T>(ops: Ops<T>, x: T, names: MoeNames, options: MoeOptions): MoeOutput<T> {
  const shape = ops.shape(x);
  const hidden = shape[shape.length - 1];
  const numExperts = names.experts.length;
  const all = [...names.experts, ...names.shared];
  const [rowsPerExpert] = ops.shape(ops.param(`${all[0]}.gate_proj.weight`));
  if (typeof hidden !== 'number' || typeof rowsPerExpert !== 'number') throw new RangeError('moeFeedForward: hidden and expert sizes must be known');
  const x2d = ops.reshape(x, [-1, hidden]);

  // 1. Routing: probabilities [N, E], the top-k mask, and the gate weight of each selected expert.
  const scores = ops.softmax(ops.matMul(x2d, ops.transpose(ops.param(`${names.router}.weight`), [1, 0])));
  const mask = topKMask(ops, scores, options.topK);
  let weights = ops.mul(scores, mask);
  if (options.normTopKProb) weights = ops.div(weights, ops.add(ops.sum(weights, [1], true), ops.scalar(1e-20)));

  // 2. Every expert on every token: SwiGLU over the stacked weights, each routed expert's block of
  // the activation scaled by its gate weight (shared experts' blocks as they are), then one product
  // with the stacked down projections.
  const gate = ops.matMul(x2d, ops.transpose(stacked(ops, all, 'gate_proj'), [1, 0])); // [N, (E+S)·m]
  const up = ops.matMul(x2d, ops.transpose(stacked(ops, all, 'up_proj'), [1, 0]));
  const act = ops.mul(ops.mul(gate, ops.sigmoid(gate)), up);
  const routedWidth = numExperts * rowsPerExpert;
  const routed = names.shared.length === 0 ? act : ops.slice(act, [0, 0], [-1, routedWidth]);
  let scaled = ops.reshape(ops.mul(ops.reshape(routed, [-1, numExperts, rowsPerExpert]), ops.reshape(weights, [-1, numExperts, 1])), [-1, routedWidth]);
  if (names.shared.length > 0) scaled = ops.concat([scaled, ops.slice(act, [0, routedWidth], [-1, -1])], 1);
  const downs = all.map((p) => ops.transpose(ops.param(`${p}.down_proj.weight`), [1, 0])); // [m, H] each
  const y = ops.matMul(scaled, downs.length === 1 ? downs[0] : ops.concat(downs, 0));

  // 3. Balance: f_e (slots per expert / (N·k)) and P_e (mean probability); E · Σ f·P.
  const load = ops.div(ops.mean(mask, [0]), ops.scalar(options.topK));
  const balance = ops.mul(ops.sum(ops.mul(load, ops.mean(scores, [0])), [0]), ops.scalar(numExperts));
  return { output: ops.reshape(y, shape), balance, load };
}
