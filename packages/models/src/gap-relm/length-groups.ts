/**
 * Padding waste a group may have: 1 − real tokens / padded tokens. A padded batch costs its
 * longest row times its size (attention: its square), so one long sentence in a batch of short
 * ones multiplies the work; splitting there costs one more model call, which is cheaper.
 */
export const MAX_PADDING_WASTE = 0.2;

/**
 * Row indices grouped for padded batches: sorted by length, cut wherever adding the next (longer)
 * row would make the group's padding waste exceed `maxWaste`. Groups come shortest first; each
 * lists indices in ascending length (ties in index order), so the grouping is deterministic.
 */
export function groupByLength(lengths: readonly number[], maxWaste = MAX_PADDING_WASTE): number[][] {
  if (!(maxWaste >= 0 && maxWaste <= 1)) throw new RangeError(`groupByLength: maxWaste must be in [0, 1], got ${maxWaste}`);
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a] - lengths[b] || a - b);
  const groups: number[][] = [];
  let group: number[] = [];
  let real = 0;
  for (const i of order) {
    const length = lengths[i];
    // Sorted ascending, so `length` becomes the group's longest row.
    if (group.length > 0 && 1 - (real + length) / ((group.length + 1) * length) > maxWaste) {
      groups.push(group);
      group = [];
      real = 0;
    }
    group.push(i);
    real += length;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}
