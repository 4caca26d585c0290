/**
 * Repetition measures of generated text (the "repeater" failure of an undertrained LM). Items are
 * any comparable units: code points of decoded text, or token ids.
 */

function ngramKeys<T>(items: readonly T[], n: number): string[] {
  const keys: string[] = [];
  for (let i = 0; i + n <= items.length; i++) keys.push(JSON.stringify(items.slice(i, i + n)));
  return keys;
}

function checkN(fn: string, name: string, n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${fn}: ${name} must be an integer >= 1, got ${n}`);
}

/**
 * distinct-n (Li et al., 2016): distinct n-grams / all n-grams, pooled over every generation;
 * 0 when there are no n-grams. Lower means more repetitive.
 */
export function distinctN<T>(generations: readonly (readonly T[])[], n: number): number {
  checkN('distinctN', 'n', n);
  const all = generations.flatMap((g) => ngramKeys(g, n));
  return all.length === 0 ? 0 : new Set(all).size / all.length;
}

/**
 * Whether a generation copies its prompt: it contains the whole prompt contiguously or, for a
 * prompt longer than `span`, any `span` consecutive items of it.
 */
export function copiesPrompt<T>(prompt: readonly T[], generation: readonly T[], span = 8): boolean {
  checkN('copiesPrompt', 'span', span);
  if (prompt.length === 0) return false;
  const size = Math.min(span, prompt.length);
  const inGeneration = new Set(ngramKeys(generation, size));
  return ngramKeys(prompt, size).some((key) => inGeneration.has(key));
}

/** Whether a generation loops: some n-gram occurs at least `times` times in it. */
export function loops<T>(generation: readonly T[], n = 4, times = 3): boolean {
  checkN('loops', 'n', n);
  checkN('loops', 'times', times);
  const counts = new Map<string, number>();
  for (const key of ngramKeys(generation, n)) {
    const c = (counts.get(key) ?? 0) + 1;
    if (c >= times) return true;
    counts.set(key, c);
  }
  return false;
}

export interface RepetitionReport {
  distinct1: number;
  distinct2: number;
  /** Share of generations that copy their prompt (`copiesPrompt`). */
  promptCopyRate: number;
  /** Share of generations with an n-gram repeated `times` times (`loops`). */
  loopRate: number;
  generations: number;
}

/** The four measures over prompts and their generations (continuations only, prompt excluded). */
export function repetitionReport<T>(
  prompts: readonly (readonly T[])[],
  generations: readonly (readonly T[])[],
  options: { span?: number; loopN?: number; loopTimes?: number } = {},
): RepetitionReport {
  if (prompts.length !== generations.length) throw new RangeError(`repetitionReport: ${prompts.length} prompts but ${generations.length} generations`);
  const share = (flags: boolean[]) => (flags.length === 0 ? 0 : flags.filter(Boolean).length / flags.length);
  return {
    distinct1: distinctN(generations, 1),
    distinct2: distinctN(generations, 2),
    promptCopyRate: share(generations.map((g, i) => copiesPrompt(prompts[i], g, options.span))),
    loopRate: share(generations.map((g) => loops(g, options.loopN, options.loopTimes))),
    generations: generations.length,
  };
}
