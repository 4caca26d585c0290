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
  /** Position ids [B, L]; absent = 0..L-1 in every row (the encoder's default). */
  positionIds?: Int32Array;
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
  /**
   * `slot_hint: source_token`: [B, L] the id of the source token each template token replaces
   * (0 elsewhere), and [B, L] 1 where there is one: the encoder adds that token's embedding.
   */
  hintIds?: Int32Array;
  hintMask?: Float32Array;
}

/** How the template of an infiller input is laid out beyond its ids. */
export interface TemplateLayout {
  /** Template position ids on the source's (`infiller_positions: aligned`). */
  alignedPositions?: boolean;
  /** Each template token that replaces a source token also carries that token (`slot_hint: source_token`). */
  slotHints?: boolean;
}

/** ONNX input names of the arrays a template layout adds to the ids (infiller.onnx, feeds). */
export const LAYOUT_INPUT_NAMES = { positionIds: 'position_ids', hintIds: 'hint_ids', hintMask: 'hint_mask' } as const;

/** The infiller.onnx inputs `layout` adds, in graph order. */
export function layoutInputNames(layout: TemplateLayout): string[] {
  const n = LAYOUT_INPUT_NAMES;
  return [...(layout.alignedPositions ? [n.positionIds] : []), ...(layout.slotHints ? [n.hintIds, n.hintMask] : [])];
}

/** Weights of the template-to-source alignment (see `alignTemplateToSource`). */
const SUBSTITUTION_COST = 3;
const INDEL_COST = 2;

/**
 * Which source token each template token stands on: its index in `source`, or -1 for a token
 * the template inserts. A minimal edit alignment (equal tokens align at no cost, a substitution,
 * e.g. a `[MASK]` on a replaced token, costs 3, an insertion or a deletion 2: one substitution is
 * cheaper than an insertion plus a deletion, but two unequal tokens are not paired where an
 * insertion and a deletion keep equal ones aligned; read from the end, ties prefer the
 * insertion, so inserted tokens come after the token a slot replaces, as `buildTemplate` puts
 * them), so it is computed the same way from the ids alone at training and at decode time,
 * with no planner labels needed. For a template that only replaces tokens (the CSC case) it is the
 * identity.
 */
export function alignTemplateToSource(source: readonly number[], template: readonly number[]): Int32Array {
  const n = source.length;
  const m = template.length;
  const out = new Int32Array(m).fill(-1);
  // cost[i][j]: aligning source[0, i) with template[0, j).
  const w = m + 1;
  const cost = new Int32Array((n + 1) * w);
  const sub = (i: number, j: number) => (source[i] === template[j] ? 0 : SUBSTITUTION_COST);
  for (let j = 0; j <= m; j++) cost[j] = j * INDEL_COST;
  for (let i = 1; i <= n; i++) {
    cost[i * w] = i * INDEL_COST;
    for (let j = 1; j <= m; j++) {
      cost[i * w + j] = Math.min(cost[(i - 1) * w + j - 1] + sub(i - 1, j - 1), cost[i * w + j - 1] + INDEL_COST, cost[(i - 1) * w + j] + INDEL_COST);
    }
  }
  for (let i = n, j = m; j > 0; ) {
    const here = cost[i * w + j];
    if (here === cost[i * w + j - 1] + INDEL_COST) {
      j--; // template token j inserted: stays -1
    } else if (i > 0 && here === cost[(i - 1) * w + j - 1] + sub(i - 1, j - 1)) {
      out[--j] = --i;
    } else {
      i--; // source token i - 1 deleted
    }
  }
  return out;
}

/**
 * Position ids of a template that follows its source in one input (`infiller_positions:
 * aligned`): each template token gets the position of the source token it stands on, so a
 * `[MASK]` sits at the position of the token it replaces and the encoder's position embeddings
 * pair the two; an inserted token gets the position after the previous template token. `start`
 * is the source's first position.
 */
export function alignedTemplatePositions(source: readonly number[], template: readonly number[], start: number): Int32Array {
  return positionsOfAlignment(alignTemplateToSource(source, template), start);
}

function positionsOfAlignment(aligned: Int32Array, start: number): Int32Array {
  const out = new Int32Array(aligned.length);
  let previous = start - 1;
  aligned.forEach((i, j) => {
    out[j] = i >= 0 ? start + i : previous + 1;
    previous = out[j];
  });
  return out;
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
  layout: TemplateLayout = {},
): InfillerInputs {
  const longest = Math.max(0, ...templates.map((t, b) => t.length + (withSource ? sources[b].length + 1 : 0)));
  const x = allocate(templates.length, longest + s.prompts + 2, s.pad);
  // Aligned positions need the source in the input; hints only its ids (they work template-only too).
  const positionIds = layout.alignedPositions && withSource ? new Int32Array(x.batch * x.length) : undefined;
  const hintIds = layout.slotHints ? new Int32Array(x.batch * x.length) : undefined;
  const hintMask = layout.slotHints ? new Float32Array(x.batch * x.length) : undefined;
  const positions: number[] = [];
  templates.forEach((template, b) => {
    let at = head(x, b, s);
    if (withSource) at = sep(x, b, put(x, b, at, sources[b], 0), s, 0);
    const type = withSource ? 1 : 0;
    for (const p of maskPositions[b]) {
      if (!(Number.isInteger(p) && p >= 0 && p < template.length)) throw new RangeError(`infillerInputs: mask position ${p} of sentence ${b} is outside its template of ${template.length} tokens`);
      positions.push(b * x.length + at + p);
    }
    const end = sep(x, b, put(x, b, at, template, type), s, type);
    const row = b * x.length;
    const aligned = positionIds || hintIds ? alignTemplateToSource(sources[b], template) : undefined;
    if (positionIds && aligned) {
      // [CLS] P source [SEP] as usual; the template on its source's positions; the last [SEP] after it.
      for (let i = 0; i < at; i++) positionIds[row + i] = i;
      const start = firstTokenPosition(s);
      const tpl = positionsOfAlignment(aligned, start);
      positionIds.set(tpl, row + at);
      positionIds[row + end - 1] = template.length > 0 ? tpl[template.length - 1] + 1 : start + sources[b].length;
    }
    if (hintIds && hintMask && aligned) {
      // A template token aligned to a source token it differs from (a [MASK] on a replaced token,
      // or an earlier fill when refining) carries that source token.
      aligned.forEach((i, j) => {
        if (i >= 0 && sources[b][i] !== template[j]) {
          hintIds[row + at + j] = sources[b][i];
          hintMask[row + at + j] = 1;
        }
      });
    }
  });
  return { ...x, ...(positionIds ? { positionIds } : {}), ...(hintIds && hintMask ? { hintIds, hintMask } : {}), positions: Int32Array.from(positions) };
}
