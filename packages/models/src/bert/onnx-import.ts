/**
 * BERT weights from an ONNX export: BertModel / feature-extraction exports (optimum, Xenova: output
 * `last_hidden_state`) and masked-LM exports (output `logits`). Initializers are mapped to the
 * Hugging Face tensor names the rest of the toolkit uses; exporters keep the names of embeddings,
 * biases and LayerNorms but fold the transposed Linear weights into unnamed `onnx::MatMul_NNN`
 * initializers stored [in, out], so those are placed by graph structure and transposed to [out, in].
 */
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic, writeSafetensors, type SafetensorsTensor } from '@proj/core';
import { readOnnxModel, type OnnxNode, type OnnxTensor } from '../onnx/read';
import { BertTokenizer } from '../tokenizers/bert-tokenizer';
import { bertConfigToJson, resolveBertConfig, type BertConfig } from './config';
import { bertParameterShapes } from './model';

const FLOAT = 1;
const INT32 = 6;
const INT64 = 7;

/** How one weight matrix got its name. */
export interface PlacedWeight {
  /** The initializer's name in the ONNX file (`onnx::MatMul_541`). */
  initializer: string;
  /** The Hugging Face name it was given (`encoder.layer.0.attention.self.query.weight`). */
  name: string;
  /** bias: the MatMul output feeds an Add with a named bias; layernorm: it reaches a named LayerNorm through the residual Add; node-name: the MatMul node's name. */
  via: 'bias' | 'layernorm' | 'node-name';
}

export interface OnnxBertImport {
  config: BertConfig;
  /** Hugging Face names → float32 tensors, Linear weights [out, in]; `bert.` prefix iff `mlmHead`. */
  tensors: Map<string, SafetensorsTensor>;
  /** Whether the export carries the masked-LM head (cls.predictions.*). */
  mlmHead: boolean;
  /** Unnamed weight matrices and the names they were given. */
  placed: PlacedWeight[];
  /** Initializers not imported, with the reason (a tied decoder copy, position_ids buffers). */
  ignored: string[];
  /** The ONNX graph's inputs and outputs, for the report. */
  inputs: string[];
  outputs: string[];
}

/**
 * The Hugging Face name inside an exporter's initializer name: `model.bert.encoder.layer.0...`
 * and `encoder.layer.0...` both give `encoder.layer.0...`; `cls.*` is kept whole. Old LayerNorm
 * names (gamma / beta) become weight / bias. Null for names that carry none (`onnx::MatMul_541`).
 */
function hfName(raw: string): string | null {
  const m = /(?:^|[./])(cls\.[\w.]+|(?:embeddings|encoder|pooler)\.[\w.]+)$/.exec(raw);
  if (m === null) return null;
  return m[1].replace(/LayerNorm\.gamma$/, 'LayerNorm.weight').replace(/LayerNorm\.beta$/, 'LayerNorm.bias');
}

function float32Of(t: OnnxTensor, source: string): Float32Array {
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (t.dataType !== FLOAT) throw new Error(`importBertOnnx: ${source}: initializer '${t.name}' has ONNX data type ${t.dataType}; only float32 (1) is read (use the fp32 model.onnx, not a quantized or fp16 one)`);
  if (t.raw.byteLength !== count * 4) {
    throw new Error(`importBertOnnx: ${source}: initializer '${t.name}' [${t.dims}] has ${t.raw.byteLength} bytes of raw_data, expected ${count * 4} (external data and float_data are not read)`);
  }
  return new Float32Array(t.raw.slice().buffer);
}

function intsOf(t: OnnxTensor): number[] | null {
  if (t.dataType === INT64 && t.raw.byteLength % 8 === 0) return Array.from(new BigInt64Array(t.raw.slice().buffer), Number);
  if (t.dataType === INT32 && t.raw.byteLength % 4 === 0) return Array.from(new Int32Array(t.raw.slice().buffer));
  return null;
}

/** [rows, cols] row-major → [cols, rows]. */
function transpose2d(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = data[r * cols + c];
  return out;
}

/** The most frequent value, or undefined for an empty list. */
function mode(values: number[]): number | undefined {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best: number | undefined;
  for (const [v, n] of counts) if (best === undefined || n > (counts.get(best) as number)) best = v;
  return best;
}

/** Producers, consumers and constant values of a graph, for walking it by structure. */
class GraphIndex {
  readonly producer = new Map<string, OnnxNode>();
  readonly consumers = new Map<string, OnnxNode[]>();
  readonly constants = new Map<string, OnnxTensor>();

  constructor(nodes: OnnxNode[], initializers: OnnxTensor[]) {
    for (const t of initializers) this.constants.set(t.name, t);
    for (const node of nodes) {
      for (const out of node.outputs) this.producer.set(out, node);
      for (const input of node.inputs) {
        const list = this.consumers.get(input) ?? [];
        list.push(node);
        this.consumers.set(input, list);
      }
      const value = node.attributes.value?.value;
      if (node.opType === 'Constant' && typeof value === 'object' && !Array.isArray(value)) this.constants.set(node.outputs[0], value);
    }
  }

  consumersOf(value: string): OnnxNode[] {
    return this.consumers.get(value) ?? [];
  }

  /** A constant's integer values, or null when `value` is computed at run time. */
  ints(value: string): number[] | null {
    const t = this.constants.get(value);
    return t === undefined ? null : intsOf(t);
  }

  /** A scalar float constant, or null. */
  scalar(value: string): number | null {
    const t = this.constants.get(value);
    if (t === undefined || t.dataType !== FLOAT || t.raw.byteLength !== 4) return null;
    return new Float32Array(t.raw.slice().buffer)[0];
  }
}

/** The Hugging Face layer a weight-matrix MatMul belongs to, found by graph structure. */
function placeMatMul(node: OnnxNode, index: GraphIndex, named: Map<string, string>): { layer: string; via: PlacedWeight['via'] } | null {
  const out = node.outputs[0];
  // 1. The bias names the layer: Gemm's C, or the Add right after it, Add(encoder.layer.0.attention.self.query.bias, x @ W).
  const gemmBias = node.opType === 'Gemm' ? named.get(node.inputs[2] ?? '') : undefined;
  if (gemmBias !== undefined && gemmBias.endsWith('.bias')) return { layer: gemmBias.slice(0, -'.bias'.length), via: 'bias' };
  for (const add of index.consumersOf(out)) {
    if (add.opType !== 'Add') continue;
    const other = add.inputs.find((i) => i !== out);
    const bias = other === undefined ? undefined : named.get(other);
    if (bias !== undefined && bias.endsWith('.bias')) return { layer: bias.slice(0, -'.bias'.length), via: 'bias' };
  }
  // 2. A dense layer before a residual LayerNorm (attention.output.dense, output.dense): through at
  //    most two Adds (bias, residual) and the LayerNorm's own arithmetic to its named weight.
  const lnOps = new Set(['ReduceMean', 'Sub', 'Pow', 'Sqrt', 'Div', 'Mul', 'Add', 'LayerNormalization']);
  let frontier = [out];
  const seen = new Set<string>();
  for (let depth = 0; depth < 9 && frontier.length > 0; depth++) {
    const next: string[] = [];
    for (const value of frontier) {
      for (const c of index.consumersOf(value)) {
        if (seen.has(c.name + c.outputs[0]) || !lnOps.has(c.opType)) continue;
        seen.add(c.name + c.outputs[0]);
        const ln = c.inputs.map((i) => named.get(i)).find((n) => n !== undefined && n.endsWith('LayerNorm.weight'));
        if (ln !== undefined && (ln.endsWith('attention.output.LayerNorm.weight') || /\.output\.LayerNorm\.weight$/.test(ln))) {
          return { layer: ln.replace(/LayerNorm\.weight$/, 'dense'), via: 'layernorm' };
        }
        next.push(...c.outputs);
      }
    }
    frontier = next;
  }
  // 3. The node's own name (`/bert/encoder/layer.0/attention/self/query/MatMul`).
  const fromName = hfName(node.name.replace(/\//g, '.').replace(/\.(MatMul|Gemm)(_\d+)?$/, ''));
  if (fromName !== null && /(query|key|value|dense)$/.test(fromName)) return { layer: fromName, via: 'node-name' };
  return null;
}

/**
 * Reads a BERT ONNX export into Hugging Face-named float32 tensors and infers its config: sizes
 * from the embeddings and the intermediate layer, heads from the attention Reshape constants,
 * layer_norm_eps from the LayerNorm epsilon, the activation from the Erf of the exact GELU.
 * `source` names the file in errors. Throws, naming every initializer, when a weight cannot be
 * placed or the tensors do not form a complete BERT.
 */
export function importBertOnnx(bytes: Uint8Array, source: string, options: { padTokenId?: number } = {}): OnnxBertImport {
  const fail = (what: string): never => {
    throw new Error(`importBertOnnx: ${source}: ${what}`);
  };
  const { graph } = readOnnxModel(bytes);
  const index = new GraphIndex(graph.nodes, graph.initializers);
  const named = new Map<string, string>(); // initializer → HF name
  for (const t of graph.initializers) {
    const name = hfName(t.name);
    if (name !== null) named.set(t.name, name);
  }

  // Every float initializer either has a Hugging Face name or is a weight matrix placed by structure.
  const raw = new Map<string, { data: Float32Array; shape: number[]; from: string }>();
  const put = (name: string, data: Float32Array, shape: number[], from: string) => {
    const before = raw.get(name);
    if (before !== undefined) fail(`both '${before.from}' and '${from}' map to ${name}`);
    raw.set(name, { data, shape, from });
  };
  const ignored: string[] = [];
  const placed: PlacedWeight[] = [];
  const unplaced: string[] = [];
  const consumedBy = (value: string) => index.consumersOf(value).map((n) => n.opType);
  const biasOf = new Map<string, PlacedWeight>(); // unnamed bias initializer → its placement
  const unnamedVectors: OnnxTensor[] = [];
  for (const t of graph.initializers) {
    if (t.dataType !== FLOAT) continue; // shape constants, position_ids
    const name = named.get(t.name);
    if (name !== undefined) {
      if (name.endsWith('position_ids')) ignored.push(`${t.name} (a buffer)`);
      else put(name, float32Of(t, source), t.dims, t.name);
      continue;
    }
    if (t.dims.length < 2) {
      if (t.dims.reduce((a, b) => a * b, 1) > 1) unnamedVectors.push(t); // placed with its MatMul below
      continue; // else a scalar constant kept as an initializer
    }
    const users = index.consumersOf(t.name);
    const node = users.length === 1 && (users[0].opType === 'MatMul' || users[0].opType === 'Gemm') && users[0].inputs[1] === t.name ? users[0] : undefined;
    const where = node === undefined ? null : placeMatMul(node, index, named);
    if (node === undefined || where === null) {
      unplaced.push(`${t.name} [${t.dims}] (used by ${consumedBy(t.name).join(', ') || 'nothing'}${node ? ` '${node.name}'` : ''})`);
      continue;
    }
    const weight = where.layer === 'cls.predictions' ? 'cls.predictions.decoder.weight' : `${where.layer}.weight`;
    const transB = node.opType === 'Gemm' && node.attributes.transB?.value === 1;
    const [rows, cols] = t.dims;
    // MatMul computes x @ W with W [in, out]; Hugging Face Linear weights are [out, in].
    put(weight, transB ? float32Of(t, source) : transpose2d(float32Of(t, source), rows, cols), transB ? [rows, cols] : [cols, rows], t.name);
    placed.push({ initializer: t.name, name: weight, via: where.via });
    // An unnamed bias: Gemm's C, or the other input of the Add right after the MatMul.
    const bias = node.opType === 'Gemm' ? node.inputs[2] : index.consumersOf(node.outputs[0]).find((n) => n.opType === 'Add')?.inputs.find((i) => i !== node.outputs[0]);
    if (bias !== undefined && !named.has(bias)) biasOf.set(bias, { initializer: bias, name: `${where.layer}.bias`, via: where.via });
  }
  for (const t of unnamedVectors) {
    const bias = biasOf.get(t.name);
    if (bias === undefined) unplaced.push(`${t.name} [${t.dims}] (an unnamed vector, not the bias of a placed layer)`);
    else {
      put(bias.name, float32Of(t, source), t.dims, t.name);
      placed.push(bias);
    }
  }
  if (unplaced.length > 0) fail(`cannot place ${unplaced.length} weight(s) by graph structure (no named bias Add, residual LayerNorm or layer node name after them): ${unplaced.join('; ')}`);

  // The MLM decoder is tied to the word embeddings in BertForMaskedLM; exporters write a copy.
  const decoder = raw.get('cls.predictions.decoder.weight');
  if (decoder !== undefined) {
    const words = raw.get('embeddings.word_embeddings.weight');
    if (words === undefined || words.data.some((v, i) => v !== decoder.data[i])) {
      fail(`the MLM decoder weight '${decoder.from}' differs from the word embeddings; BertForMaskedLM here ties them, so an untied head cannot be imported`);
    }
    raw.delete('cls.predictions.decoder.weight');
    ignored.push(`${decoder.from} (the MLM decoder, tied to the word embeddings)`);
  }
  if (raw.has('cls.predictions.decoder.bias') && !raw.has('cls.predictions.bias')) {
    raw.set('cls.predictions.bias', raw.get('cls.predictions.decoder.bias')!);
    raw.delete('cls.predictions.decoder.bias');
  }

  // Config: sizes from the tensors, heads / eps / activation from the graph.
  const shapeOf = (name: string): number[] => raw.get(name)?.shape ?? fail(`no initializer maps to ${name}`);
  const [vocabSize, hiddenSize] = shapeOf('embeddings.word_embeddings.weight');
  const layers = new Set([...raw.keys()].map((n) => /^encoder\.layer\.(\d+)\./.exec(n)?.[1]).filter((x) => x !== undefined));
  const numHiddenLayers = layers.size;
  if (numHiddenLayers === 0) fail('no encoder.layer.N tensors');
  const heads: number[] = [];
  for (const node of graph.nodes) {
    if (node.opType !== 'Reshape') continue;
    const target = node.inputs[1];
    let dims = index.ints(target);
    const producer = index.producer.get(target);
    if (dims === null && producer?.opType === 'Concat') dims = producer.inputs.flatMap((i) => index.ints(i) ?? [NaN]);
    if (dims === null || dims.length !== 4) continue;
    const [h, d] = dims.slice(2);
    // [batch, seq, heads, head_dim]; transformers 4.4x writes heads as -1.
    if (d > 1 && h > 1 && h * d === hiddenSize) heads.push(h);
    else if (h === -1 && d > 1 && d < hiddenSize && hiddenSize % d === 0) heads.push(hiddenSize / d);
  }
  const numAttentionHeads = mode(heads) ?? fail(`no attention Reshape to [batch, seq, heads, head_dim] with heads × head_dim = ${hiddenSize}; cannot infer num_attention_heads`);
  const eps: number[] = [];
  for (const node of graph.nodes) {
    if (node.opType === 'LayerNormalization') eps.push(typeof node.attributes.epsilon?.value === 'number' ? node.attributes.epsilon.value : 1e-5);
    if (node.opType !== 'Sqrt') continue;
    const add = index.producer.get(node.inputs[0]);
    if (add?.opType !== 'Add' || !add.inputs.some((i) => index.producer.get(i)?.opType === 'ReduceMean')) continue;
    const e = add.inputs.map((i) => index.scalar(i)).find((v) => v !== null);
    if (e !== undefined && e !== null) eps.push(e);
  }
  // float32 1e-12 reads back as 9.99999996e-13; six digits give the value the config was written with.
  const layerNormEps = Number((mode(eps) ?? fail('no LayerNorm epsilon found (neither LayerNormalization nor Sqrt(ReduceMean(...) + eps))')).toPrecision(6));
  const opTypes = new Set(graph.nodes.map((n) => n.opType));
  const tanhGelu = graph.nodes.some((n) => n.opType === 'Gelu' && n.attributes.approximate?.value === 'tanh');
  if (!(opTypes.has('Erf') || opTypes.has('Gelu')) || tanhGelu) {
    fail(`the feed-forward activation is not the exact (erf) GELU BERT uses (ops: ${[...opTypes].filter((o) => ['Tanh', 'Relu', 'Gelu', 'Sigmoid'].includes(o)).join(', ') || 'no Erf'}); only hidden_act "gelu" is implemented`);
  }
  const config = resolveBertConfig(
    {
      vocabSize,
      hiddenSize,
      numHiddenLayers,
      numAttentionHeads,
      intermediateSize: shapeOf('encoder.layer.0.intermediate.dense.weight')[0],
      maxPositionEmbeddings: shapeOf('embeddings.position_embeddings.weight')[0],
      typeVocabSize: shapeOf('embeddings.token_type_embeddings.weight')[0],
      layerNormEps,
      padTokenId: options.padTokenId ?? 0,
    },
    `importBertOnnx: ${source}`,
  );

  // The tensors must be exactly a BERT of that config (names and shapes), as loadBertCheckpoint checks.
  const mlmHead = raw.has('cls.predictions.bias');
  const prefix = mlmHead ? 'bert.' : '';
  const expected = bertParameterShapes(config, { prefix, mlmHead, pooler: raw.has('pooler.dense.weight') });
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, t] of raw) {
    const full = name.startsWith('cls.') ? name : prefix + name;
    const shape = expected.get(full) ?? fail(`initializer '${t.from}' maps to ${full}, which a BERT with this config does not have`);
    if (shape.join() !== t.shape.join()) fail(`initializer '${t.from}' → ${full} has shape [${t.shape}], the inferred config expects [${shape}]`);
    tensors.set(full, { dtype: 'F32', shape, data: t.data });
  }
  const missing = [...expected.keys()].filter((n) => !tensors.has(n));
  if (missing.length > 0) fail(`no initializer maps to ${missing.join(', ')}`);
  return { config, tensors, mlmHead, placed, ignored, inputs: graph.inputs.map((i) => i.name), outputs: graph.outputs.map((o) => o.name) };
}

/** What `importBertOnnxToDirectory` wrote. */
export interface OnnxImportResult extends Omit<OnnxBertImport, 'tensors'> {
  dir: string;
  /** sha256 of the ONNX file read. */
  sha256: string;
  parameters: number;
}

/** The import record written beside the checkpoint. */
export const ONNX_IMPORT_FILE = 'onnx_import.json';

/**
 * Imports `onnxPath` into a Hugging Face BERT directory `outDir`: model.safetensors (float32),
 * config.json, tokenizer.json (copied) with vocab.txt, tokenizer_config.json and
 * special_tokens_map.json, and onnx_import.json (source sha256, how each unnamed weight was
 * placed). `loadBertCheckpoint(outDir)` and transformers' `BertModel.from_pretrained` read it.
 * config.json is written last, so a directory that has it is complete.
 */
export async function importBertOnnxToDirectory(onnxPath: string, outDir: string, options: { tokenizerJson: string }): Promise<OnnxImportResult> {
  const bytes = await readFile(onnxPath);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  await mkdir(outDir, { recursive: true });
  await copyFile(options.tokenizerJson, join(outDir, 'tokenizer.json'));
  await chmod(join(outDir, 'tokenizer.json'), 0o644); // the source may be read-only; the copy must stay replaceable
  const tokenizer = await BertTokenizer.fromDirectory(outDir, { source: 'tokenizer.json' });
  const imported = importBertOnnx(bytes, onnxPath, { padTokenId: tokenizer.padId });
  if (tokenizer.vocab.size > imported.config.vocabSize) {
    throw new Error(`importBertOnnxToDirectory: ${options.tokenizerJson} has ${tokenizer.vocab.size} tokens but ${onnxPath} embeds ${imported.config.vocabSize}`);
  }
  await tokenizer.save(outDir);
  const entries = [...imported.tensors].sort(([a], [b]) => (a < b ? -1 : 1));
  await writeSafetensors(join(outDir, 'model.safetensors'), entries, { format: 'pt' });
  const { tensors, ...rest } = imported;
  const parameters = [...tensors.values()].reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0);
  const record = { source: onnxPath, sha256, parameters, mlm_head: rest.mlmHead, inputs: rest.inputs, outputs: rest.outputs, placed: rest.placed, ignored: rest.ignored };
  await writeFileAtomic(join(outDir, ONNX_IMPORT_FILE), `${JSON.stringify(record, null, 2)}\n`);
  const config = bertConfigToJson(imported.config, imported.mlmHead ? 'BertForMaskedLM' : 'BertModel');
  await writeFileAtomic(join(outDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  return { ...rest, dir: outDir, sha256, parameters };
}
