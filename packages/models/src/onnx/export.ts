import { writeFileAtomic } from '@proj/core';
import { join } from 'node:path';
import type { BertForMaskedLM, BertModel } from '../bert/model';
import type { GapRelm } from '../gap-relm/gap-relm';
import { templateLayout } from '../gap-relm/codec';
import { LAYOUT_INPUT_NAMES } from '../gap-relm/inputs';
import { recordCandidateHead, SGDD_PASS_WEIGHTS } from '../sgdd/candidate-head';
import type { SgddModel } from '../sgdd/model';
import { encodeSentences } from '../sgdd/semantic';
import { GraphOps, type Graph } from '../ops/graph-ops';
import type { ParameterStore } from '../ops/parameter-store';
import { graphToOnnx } from './serialize';

export interface OnnxExportOptions {
  /** Default-domain opset (>= 17). */
  opset?: number;
}

/** Batch and sequence stay dynamic in every exported model. */
const BATCH = 'batch';
const SEQ = 'seq';

function recordInputs(g: GraphOps) {
  return {
    inputIds: g.input('input_ids', 'int32', [BATCH, SEQ]),
    attentionMask: g.input('attention_mask', 'int32', [BATCH, SEQ]),
    tokenTypeIds: g.input('token_type_ids', 'int32', [BATCH, SEQ]),
  };
}

/** Parameter values of the initializers a graph uses, read once from the store (async: tfjs data()). */
async function parameterValues(graph: Graph, store: ParameterStore): Promise<Map<string, Float32Array>> {
  const values = new Map<string, Float32Array>();
  for (const init of graph.initializers) if (init.kind === 'parameter') values.set(init.name, await store.toFloat32(init.name));
  return values;
}

/** A recorded graph as ONNX bytes with the store's current weights as initializers. */
export async function graphWithWeightsToOnnx(graph: Graph, store: ParameterStore, graphName: string, options: OnnxExportOptions = {}): Promise<Uint8Array> {
  const values = await parameterValues(graph, store);
  return graphToOnnx(graph, {
    opset: options.opset,
    graphName,
    parameters: (name) => {
      const v = values.get(name);
      if (v === undefined) throw new Error(`${graphName}: no value for parameter '${name}'`);
      return v;
    },
  });
}

/** The recorded BertForMaskedLM graph: int ids [batch, seq] → `logits` [batch, seq, vocab] (as HF's ONNX export). */
export function recordBertForMaskedLM(model: BertForMaskedLM): Graph {
  const g = new GraphOps(model.params);
  const out = model.forward(g, recordInputs(g), { fullLogits: true });
  g.output(out.fullLogits!, 'logits');
  return g.toGraph();
}

/** BertForMaskedLM as ONNX bytes (inputs `input_ids`, `attention_mask`, `token_type_ids` int64; output `logits`). */
export async function bertForMaskedLMToOnnx(model: BertForMaskedLM, options: OnnxExportOptions = {}): Promise<Uint8Array> {
  return graphWithWeightsToOnnx(recordBertForMaskedLM(model), model.params, 'bert_for_masked_lm', options);
}

/** Writes BertForMaskedLM to `path` as ONNX, atomically. Returns the bytes written. */
export async function exportBertForMaskedLMToOnnx(model: BertForMaskedLM, path: string, options: OnnxExportOptions = {}): Promise<Uint8Array> {
  const bytes = await bertForMaskedLMToOnnx(model, options);
  await writeFileAtomic(path, bytes);
  return bytes;
}

/** The Gap-ReLM planner graph: ids [batch, seq] → `op_logits` [batch, slots, 3], `insert_logits` [batch, slots, K + 1]. */
export function recordGapRelmPlanner(model: GapRelm): Graph {
  const g = new GraphOps(model.store);
  const { opLogits, insertLogits } = model.planner(g, recordInputs(g));
  g.output(opLogits, 'op_logits');
  g.output(insertLogits, 'insert_logits');
  return g.toGraph();
}

/**
 * The Gap-ReLM infiller graph: ids [batch, seq] (+ `position_ids` [batch, seq] with
 * `infiller_positions: aligned`, + `hint_ids` [batch, seq] and `hint_mask` [batch, seq, 1] with
 * `slot_hint: source_token`) + `mask_positions` [masks] (flat b · seq + i) → `logits` [masks, vocab].
 */
export function recordGapRelmInfiller(model: GapRelm): Graph {
  const g = new GraphOps(model.store);
  const layout = templateLayout(model.config);
  const inputs = {
    ...recordInputs(g),
    ...(layout.alignedPositions ? { positionIds: g.input(LAYOUT_INPUT_NAMES.positionIds, 'int32', [BATCH, SEQ]) } : {}),
    ...(layout.slotHints ? { hintIds: g.input(LAYOUT_INPUT_NAMES.hintIds, 'int32', [BATCH, SEQ]), hintMask: g.input(LAYOUT_INPUT_NAMES.hintMask, 'float32', [BATCH, SEQ, 1]) } : {}),
  };
  g.output(model.infiller(g, inputs, g.input('mask_positions', 'int32', ['masks'])), 'logits');
  return g.toGraph();
}

export async function gapRelmToOnnx(model: GapRelm, options: OnnxExportOptions = {}): Promise<{ planner: Uint8Array; infiller: Uint8Array }> {
  return {
    planner: await graphWithWeightsToOnnx(recordGapRelmPlanner(model), model.store, 'gap_relm_planner', options),
    infiller: await graphWithWeightsToOnnx(recordGapRelmInfiller(model), model.store, 'gap_relm_infiller', options),
  };
}

/** Writes `planner.onnx` and `infiller.onnx` into `dir`, each atomically. Returns the bytes written. */
export async function exportGapRelmToOnnx(model: GapRelm, dir: string, options: OnnxExportOptions = {}): Promise<{ planner: Uint8Array; infiller: Uint8Array }> {
  const bytes = await gapRelmToOnnx(model, options);
  await writeFileAtomic(join(dir, 'planner.onnx'), bytes.planner);
  await writeFileAtomic(join(dir, 'infiller.onnx'), bytes.infiller);
  return bytes;
}

/**
 * The SGDD decoder graph: `input_ids`, `attention_mask` [batch, seq], `timesteps` [batch] (int64 in
 * ONNX), `semantic` [batch, semantic_size], `condition` [batch] (1 = semantic vector, 0 = null
 * vector) and `positions` [n] (flat b · seq + i) → `logits` [n, vocab] at those positions only
 * (the tied output projection is a third of the full-size decoder's work; MaskGIT reads only the
 * masked positions). Both guidance passes run the one graph, as one batch of 2 · batch rows.
 * Argmax decoding fetches `candidates` [n / passes] (int64) and `candidate_log_probs` instead,
 * the passes combined by `pass_weights` [passes] (`recordCandidateHead`); every run feeds it.
 */
export function recordSgddDecoder(model: SgddModel): Graph {
  const g = new GraphOps(model.params);
  const { logits } = model.forward(
    g,
    {
      inputIds: g.input('input_ids', 'int32', [BATCH, SEQ]),
      attentionMask: g.input('attention_mask', 'int32', [BATCH, SEQ]),
      timesteps: g.input('timesteps', 'int32', [BATCH]),
      semantic: g.input('semantic', 'float32', [BATCH, model.config.semantic_size]),
      condition: g.input('condition', 'float32', [BATCH]),
    },
    { positions: g.input('positions', 'int32', ['positions']) },
  );
  g.output(logits!, 'logits');
  const { tokens, logProbs } = recordCandidateHead(g, logits!, g.input(SGDD_PASS_WEIGHTS, 'float32', ['passes']), model.config);
  g.output(tokens, 'candidates');
  g.output(logProbs, 'candidate_log_probs');
  return g.toGraph();
}

export async function sgddDecoderToOnnx(model: SgddModel, options: OnnxExportOptions = {}): Promise<Uint8Array> {
  return graphWithWeightsToOnnx(recordSgddDecoder(model), model.params, 'sgdd_decoder', options);
}

/** Writes the SGDD decoder to `path` as ONNX, atomically. Returns the bytes written. */
export async function exportSgddDecoderToOnnx(model: SgddModel, path: string, options: OnnxExportOptions = {}): Promise<Uint8Array> {
  const bytes = await sgddDecoderToOnnx(model, options);
  await writeFileAtomic(path, bytes);
  return bytes;
}

/**
 * SGDD's frozen semantic encoder: a BERT encoder's last hidden state mean-pooled over non-padding
 * tokens. Inputs `input_ids`, `attention_mask`, `token_type_ids` [batch, seq] (int64) → `sentence_embedding` [batch, hidden].
 */
export function recordSentenceEncoder(encoder: BertModel): Graph {
  const g = new GraphOps(encoder.params);
  g.output(encodeSentences(g, encoder, recordInputs(g)), 'sentence_embedding');
  return g.toGraph();
}

export async function sentenceEncoderToOnnx(encoder: BertModel, options: OnnxExportOptions = {}): Promise<Uint8Array> {
  return graphWithWeightsToOnnx(recordSentenceEncoder(encoder), encoder.params, 'sentence_encoder', options);
}
