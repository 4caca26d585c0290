import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend';
import { bertParameterShapes, type BertForMaskedLM } from '../bert/model';
import { loadBertForMaskedLM } from '../bert/weights';
import { GapRelm } from '../gap-relm/gap-relm';
import { charTokenizer, corpusSentences, TINY } from '../gap-relm/testing';
import { bertForMaskedLMToOnnx, exportBertForMaskedLMToOnnx, exportGapRelmToOnnx, recordBertForMaskedLM } from './export';
import { readOnnxModel, type OnnxModel } from './read';
import { OnnxDataType } from './serialize';

const FIXTURES = join(__dirname, '../../test/fixtures');
/** Written by tools/reference/onnx_check.py (onnx.checker + onnxruntime against tfjs). */
interface Verdict {
  pass: boolean;
  tolerance: number;
  models: Record<string, { sha256: string; worst: number; checker_full_check: string; nodes: number; max_abs_diff: Record<string, Record<string, number>> }>;
}

let model: BertForMaskedLM;
let dir: string;
beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  model = (await loadBertForMaskedLM(join(FIXTURES, 'tiny-bert'))).model;
  dir = await mkdtemp(join(tmpdir(), 'onnx-export-'));
});
afterAll(async () => {
  model.dispose();
  await rm(dir, { recursive: true, force: true });
});

function expectTopological(m: OnnxModel): void {
  const defined = new Set([...m.graph.inputs.map((i) => i.name), ...m.graph.initializers.map((i) => i.name)]);
  for (const n of m.graph.nodes) {
    for (const i of n.inputs) expect(defined.has(i), `${n.name} input ${i}`).toBe(true);
    n.outputs.forEach((o) => defined.add(o));
  }
  for (const o of m.graph.outputs) expect(defined.has(o.name), `output ${o.name}`).toBe(true);
}

const IDS = ['input_ids', 'attention_mask', 'token_type_ids'].map((name) => ({ name, elemType: OnnxDataType.INT64, dims: ['batch', 'seq'] }));

describe('exportBertForMaskedLMToOnnx (tiny BERT fixture)', () => {
  it('writes the file atomically and reads back: HF I/O names, dynamic axes, every parameter once', async () => {
    const path = join(dir, 'bert', 'model.onnx');
    const bytes = await exportBertForMaskedLMToOnnx(model, path);
    expect(Buffer.compare(await readFile(path), Buffer.from(bytes))).toBe(0);
    expect(await readdir(join(dir, 'bert'))).toEqual(['model.onnx']);
    const m = readOnnxModel(bytes);
    expect([m.irVersion, m.opsets]).toEqual([8, [{ domain: '', version: 17 }]]);
    expect(m.graph.inputs).toEqual(IDS);
    expect(m.graph.outputs).toEqual([{ name: 'logits', elemType: OnnxDataType.FLOAT, dims: ['batch', 'seq', 200] }]);
    const shapes = bertParameterShapes(model.config);
    const params = m.graph.initializers.filter((i) => shapes.has(i.name));
    expect(params.map((p) => p.name).sort()).toEqual([...shapes.keys()].sort());
    for (const p of params) {
      expect(p.dims, p.name).toEqual(shapes.get(p.name));
      expect(p.raw.byteLength, p.name).toBe(4 * p.dims.reduce((a, b) => a * b, 1));
    }
    // The weights are the store's, byte for byte.
    const emb = params.find((p) => p.name === 'bert.embeddings.word_embeddings.weight')!;
    expect(Buffer.compare(Buffer.from(emb.raw), Buffer.from((await model.params.toFloat32(emb.name)).buffer))).toBe(0);
    expectTopological(m);
  });

  it('keeps the recorded nodes (Gelu lowered to 5 ops) plus the input Casts and runtime-shape nodes', async () => {
    const graph = recordBertForMaskedLM(model);
    const m = readOnnxModel(await bertForMaskedLMToOnnx(model));
    const count = (ops: { op?: string; opType?: string }[], op: string) => ops.filter((n) => (n.op ?? n.opType) === op).length;
    for (const op of ['MatMul', 'LayerNormalization', 'Softmax', 'Gather', 'Transpose', 'Reshape', 'Slice', 'Identity']) {
      expect(count(m.graph.nodes, op), op).toBe(count(graph.nodes, op));
    }
    expect(count(m.graph.nodes, 'Gelu')).toBe(0);
    expect(count(m.graph.nodes, 'Erf')).toBe(count(graph.nodes, 'Gelu'));
    expect(count(m.graph.nodes, 'Cast')).toBe(count(graph.nodes, 'Cast') + 3);
    expect(m.graph.nodes.filter((n) => n.opType === 'Shape').map((n) => [n.inputs[0], n.attributes.start.value])).toEqual([['input_ids', 0], ['input_ids', 1]]);
    const added = m.graph.nodes.length - graph.nodes.length;
    // 3 input Casts, 4 extra nodes per lowered Gelu, 2 Shapes, and one Concat per distinct runtime shape (at most 6).
    expect(added).toBeGreaterThanOrEqual(3 + 4 * 3 + 2);
    expect(added).toBeLessThanOrEqual(3 + 4 * 3 + 2 + 6);
  });

  it('the bytes are the ones onnx_check.py verified (onnx.checker full_check, onnxruntime within 1e-4 of tfjs)', async () => {
    const verdict = JSON.parse(await readFile(join(FIXTURES, 'onnx/verdict.json'), 'utf8')) as Verdict;
    const bert = verdict.models['bert.onnx'];
    const sha = createHash('sha256').update(await bertForMaskedLMToOnnx(model)).digest('hex');
    expect(sha, 'exporter output changed: re-run tools/reference/onnx_check.py to re-verify and refresh verdict.json').toBe(bert.sha256);
    expect([verdict.pass, bert.checker_full_check]).toEqual([true, 'ok']);
    expect(Object.keys(bert.max_abs_diff).sort()).toEqual(['b1_l12', 'b1_l5', 'b3_l12', 'b3_l5']);
    for (const m of Object.values(verdict.models)) expect(m.worst).toBeLessThan(1e-4);
  });
});

describe('exportGapRelmToOnnx', () => {
  it('writes planner.onnx and infiller.onnx with the planner heads and the infiller MLM logits', async () => {
    const tokenizer = charTokenizer(corpusSentences(40));
    const relm = GapRelm.create({ ...TINY }, tokenizer, 6);
    try {
      const out = join(dir, 'relm');
      const bytes = await exportGapRelmToOnnx(relm, out);
      expect((await readdir(out)).sort()).toEqual(['infiller.onnx', 'planner.onnx']);
      const planner = readOnnxModel(await readFile(join(out, 'planner.onnx')));
      const infiller = readOnnxModel(bytes.infiller);
      expect(planner.graph.inputs).toEqual(IDS);
      // Slots: [CLS] + the source, the P = 2 prompt positions dropped.
      expect(planner.graph.outputs.map((o) => [o.name, o.dims])).toEqual([
        ['op_logits', ['batch', '1+seq-3', 3]],
        ['insert_logits', ['batch', '1+seq-3', 4]],
      ]);
      expect(infiller.graph.inputs.map((i) => [i.name, i.elemType, i.dims])).toEqual([...IDS.map((i) => [i.name, i.elemType, i.dims]), ['mask_positions', OnnxDataType.INT64, ['masks']]]);
      expect(infiller.graph.outputs).toEqual([{ name: 'logits', elemType: OnnxDataType.FLOAT, dims: ['masks', tokenizer.vocab.size] }]);
      const names = (m: OnnxModel) => m.graph.initializers.map((i) => i.name);
      expect(names(planner).some((n) => n.startsWith('infiller.'))).toBe(false);
      expect(names(infiller).some((n) => n.startsWith('planner.'))).toBe(false);
      expect(names(planner)).toContain('planner.planner.op_head.weight');
      expect(names(planner)).toContain('prompt.lstm_head.weight_ih_l0');
      for (const m of [planner, infiller]) expectTopological(m);
    } finally {
      relm.dispose();
    }
  });
});
