import type { PlannerLogitsSource } from '@proj/sampling';

/**
 * A planner that runs `real` (its cost) but answers with the gold plan: REPLACE where the target
 * (`targets`, by source sentence) differs, KEEP elsewhere, no insertions. So the infiller fills
 * what a model that found every error would send it, whatever the weights, and `correct()` does
 * its full work. For the Gap-ReLM benchmarks.
 */
export function goldPlanner(real: PlannerLogitsSource, maxInsertK: number, targets: ReadonlyMap<string, string>): PlannerLogitsSource {
  const k1 = maxInsertK + 1;
  const sure = 30;
  return {
    plan: async (batch) => {
      await real.plan(batch);
      const opLogits = batch.sourceTokens.map((tokens) => {
        const target = Array.from(targets.get(tokens.join('')) ?? '');
        const logits = new Float32Array((tokens.length + 1) * 3);
        logits[0] = sure;
        tokens.forEach((t, i) => (logits[(i + 1) * 3 + (target.length === tokens.length && target[i] !== t ? 2 : 0)] = sure));
        return logits;
      });
      const insertLogits = batch.sourceTokens.map((tokens) => {
        const logits = new Float32Array((tokens.length + 1) * k1);
        for (let s = 0; s <= tokens.length; s++) logits[s * k1] = sure;
        return logits;
      });
      return { opLogits, insertLogits };
    },
  };
}
