/**
 * Padded model inputs as plain typed arrays (the tensors are made by the caller). Every batch is
 * padded to its longest sequence; padding has id [PAD], mask 0, type 0, and never reaches an
 * output a caller reads (attention ignores it; logits are read only at real slots / masks).
 */

export interface SpecialIds {
  cls: number;
  sep: number;
  pad: number;
  /** Id of the first prompt token: the vocabulary size (prompts extend the embedding table). */
  firstPrompt: number;
  /** Number of prompt tokens after [CLS]. */
  prompts: number;
}

export interface PaddedInputs {
  batch: number;
  length: number;
  inputIds: Int32Array;
  attentionMask: Int32Array;
  tokenTypeIds: Int32Array;
}

function allocate(batch: number, length: number, pad: number): PaddedInputs {
  return { batch, length, inputIds: new Int32Array(batch * length).fill(pad), attentionMask: new Int32Array(batch * length), tokenTypeIds: new Int32Array(batch * length) };
}

/** Where a row's first token after `[CLS] P` sits: the source of the planner and of the infiller. */
export function firstTokenPosition(s: SpecialIds): number {
  return 1 + s.prompts;
}

/** Writes [CLS] prompts into row b; returns the next position. */
function head(x: PaddedInputs, b: number, s: SpecialIds): number {
  const row = b * x.length;
  x.inputIds[row] = s.cls;
  x.attentionMask[row] = 1;
  for (let j = 0; j < s.prompts; j++) {
    x.inputIds[row + 1 + j] = s.firstPrompt + j;
    x.attentionMask[row + 1 + j] = 1;
  }
  return firstTokenPosition(s);
}

function put(x: PaddedInputs, b: number, at: number, ids: readonly number[], type: number): number {
  const row = b * x.length;
  for (let i = 0; i < ids.length; i++) {
    x.inputIds[row + at + i] = ids[i];
    x.attentionMask[row + at + i] = 1;
    x.tokenTypeIds[row + at + i] = type;
  }
  return at + ids.length;
}

function sep(x: PaddedInputs, b: number, at: number, s: SpecialIds, type: number): number {
  return put(x, b, at, [s.sep], type);
}

/** Planner inputs `[CLS] P source [SEP]`, all type 0. */
export function plannerInputs(sources: readonly (readonly number[])[], s: SpecialIds): PaddedInputs {
  const length = Math.max(0, ...sources.map((ids) => ids.length)) + s.prompts + 2;
  const x = allocate(sources.length, length, s.pad);
  sources.forEach((ids, b) => sep(x, b, put(x, b, head(x, b, s), ids, 0), s, 0));
  return x;
}

export interface InfillerInputs extends PaddedInputs {
  /** Flat positions b * L + i of every mask, sentence by sentence, in mask order. */
  positions: Int32Array;
}

/**
 * Infiller inputs: `[CLS] P source [SEP] template [SEP]` (source type 0, template type 1, as
 * ReLM), or `[CLS] P template [SEP]` (type 0) when `withSource` is false. `maskPositions` index
 * into each template.
 */
export function infillerInputs(
  sources: readonly (readonly number[])[],
  templates: readonly (readonly number[])[],
  maskPositions: readonly (readonly number[])[],
  withSource: boolean,
  s: SpecialIds,
): InfillerInputs {
  const longest = Math.max(0, ...templates.map((t, b) => t.length + (withSource ? sources[b].length + 1 : 0)));
  const x = allocate(templates.length, longest + s.prompts + 2, s.pad);
  const positions: number[] = [];
  templates.forEach((template, b) => {
    let at = head(x, b, s);
    if (withSource) at = sep(x, b, put(x, b, at, sources[b], 0), s, 0);
    const type = withSource ? 1 : 0;
    for (const p of maskPositions[b]) {
      if (!(Number.isInteger(p) && p >= 0 && p < template.length)) throw new RangeError(`infillerInputs: mask position ${p} of sentence ${b} is outside its template of ${template.length} tokens`);
      positions.push(b * x.length + at + p);
    }
    sep(x, b, put(x, b, at, template, type), s, type);
  });
  return { ...x, positions: Int32Array.from(positions) };
}
