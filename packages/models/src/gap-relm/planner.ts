import type { Rng } from '@proj/core';
import type { BertConfig } from '../bert/config';
import type { BertInputs } from '../bert/model';
import type { Ops } from '../ops/ops';
import type { ParameterStore } from '../ops/parameter-store';
import { initLinear, linear } from '../layers/linear';
import { encode } from './encoder';

/** Parameter prefix of the planner inside a GapRelm (its checkpoint drops it: `bert.*`, `planner.*`). */
export const PLANNER = 'planner.';

/** Ops per slot: KEEP, DELETE, REPLACE (the `PlannerOp` ids of @proj/align). */
export const NUM_PLANNER_OPS = 3;

/** The two tagging heads on top of the planner encoder: `planner.op_head` (H → 3) and `planner.insert_head` (H → K + 1). */
export function initPlannerHeads(store: ParameterStore, hidden: number, maxInsertK: number, std: number, rng: Rng): void {
  initLinear(store, `${PLANNER}planner.op_head`, hidden, NUM_PLANNER_OPS, std, rng);
  initLinear(store, `${PLANNER}planner.insert_head`, hidden, maxInsertK + 1, std, rng);
}

export interface PlannerOutput<T> {
  /** [B, S, 3] with S = L - P: row 0 is slot 0 ([CLS]), row i + 1 source token i; rows past n are [SEP]/padding. */
  opLogits: T;
  /** [B, S, K + 1]: column c scores inserting exactly c masks after the slot. */
  insertLogits: T;
  /** [B, L, H]: the encoder's output over the whole input (prompts included), before the heads' dropout. */
  hidden: T;
}

/**
 * Planner over `[CLS] (P prompts) source [SEP]`. The [CLS] position is slot 0 (the sentence
 * start, where an insertion before the first token lives) and source token i is slot i + 1; the
 * prompt positions are dropped before the heads, so slots line up with the labels. The encoder is
 * the planner's own (`planner.bert.*`) unless `encoderPrefix` names another (`share_encoder`).
 */
export function plannerForward<T>(ops: Ops<T>, cfg: BertConfig, inputs: BertInputs<T>, prompts: T | null, training?: { rng: Rng }, encoderPrefix = `${PLANNER}bert.`): PlannerOutput<T> {
  const h = encode(ops, cfg, encoderPrefix, inputs, prompts, training);
  let slots = h;
  if (prompts !== null) {
    const [b, , hidden] = ops.shape(h);
    const numPrompts = ops.shape(prompts)[0] as number;
    slots = ops.concat([ops.slice(h, [0, 0, 0], [b, 1, hidden]), ops.slice(h, [0, 1 + numPrompts, 0], [b, -1, hidden])], 1);
  }
  if (training) slots = ops.dropout(slots, cfg.hiddenDropoutProb, training.rng);
  return { opLogits: linear(ops, slots, `${PLANNER}planner.op_head`), insertLogits: linear(ops, slots, `${PLANNER}planner.insert_head`), hidden: h };
}
