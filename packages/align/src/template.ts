import { MASK_TOKEN, PlannerOp } from './types';

export interface Template {
  /** Source tokens after the planner ops, with `[MASK]` for each REPLACE and each insertion. */
  template_tokens: string[];
  /** Indices into `template_tokens` of the `[MASK]`s, in order. */
  mask_positions: number[];
}

/**
 * Applies planner labels to source tokens. Slot 0 is the sentence start (always KEEP); slot
 * i + 1 is source token i. Per slot: the token (KEEP), nothing (DELETE) or one `[MASK]`
 * (REPLACE), then `insert_labels[slot]` `[MASK]`s. Used to build training targets and at decode
 * time, so it validates its inputs.
 */
export function buildTemplate(
  sourceTokens: readonly string[],
  op_labels: readonly number[],
  insert_labels: readonly number[],
): Template {
  const slots = sourceTokens.length + 1;
  if (op_labels.length !== slots) {
    throw new RangeError(`buildTemplate: op_labels must have length tokens+1=${slots}, got ${op_labels.length}`);
  }
  if (insert_labels.length !== slots) {
    throw new RangeError(`buildTemplate: insert_labels must have length tokens+1=${slots}, got ${insert_labels.length}`);
  }
  if (op_labels[0] !== PlannerOp.KEEP) {
    throw new RangeError(`buildTemplate: op_labels[0] is the sentence-start slot and must be KEEP (0), got ${op_labels[0]}`);
  }
  const template_tokens: string[] = [];
  const mask_positions: number[] = [];
  const pushMask = () => {
    mask_positions.push(template_tokens.length);
    template_tokens.push(MASK_TOKEN);
  };
  for (let slot = 0; slot < slots; slot++) {
    const op = op_labels[slot];
    if (slot > 0) {
      if (op === PlannerOp.KEEP) template_tokens.push(sourceTokens[slot - 1]);
      else if (op === PlannerOp.REPLACE) pushMask();
      else if (op !== PlannerOp.DELETE) {
        throw new RangeError(`buildTemplate: op_labels[${slot}] must be 0 (KEEP), 1 (DELETE) or 2 (REPLACE), got ${op}`);
      }
    }
    const inserts = insert_labels[slot];
    if (!Number.isInteger(inserts) || inserts < 0) {
      throw new RangeError(`buildTemplate: insert_labels[${slot}] must be an integer >= 0, got ${inserts}`);
    }
    for (let k = 0; k < inserts; k++) pushMask();
  }
  return { template_tokens, mask_positions };
}

/** Replaces the `[MASK]`s of a template, in order, with `fills`. */
export function fillTemplate(template_tokens: readonly string[], fills: readonly string[]): string[] {
  const out = template_tokens.slice();
  let next = 0;
  for (let i = 0; i < out.length; i++) {
    if (out[i] !== MASK_TOKEN) continue;
    if (next >= fills.length) {
      throw new RangeError(`fillTemplate: template has more [MASK]s than the ${fills.length} fills`);
    }
    out[i] = fills[next++];
  }
  if (next !== fills.length) {
    throw new RangeError(`fillTemplate: template has ${next} [MASK]s but got ${fills.length} fills`);
  }
  return out;
}
