import type { PrecomputedExample } from '@proj/align';

/** One JSONL line (with its newline) in the precomputed format, fields in the format's order. */
export function precomputedLine(e: PrecomputedExample): string {
  return `${JSON.stringify({
    source: e.source,
    target: e.target,
    op_labels: e.op_labels,
    insert_labels: e.insert_labels,
    template_tokens: e.template_tokens,
    gold_tokens: e.gold_tokens,
    mask_positions: e.mask_positions,
  })}\n`;
}
