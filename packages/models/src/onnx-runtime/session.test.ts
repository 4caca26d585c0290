import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend';
import { GapRelm } from '../gap-relm/gap-relm';
import { charTokenizer, corpusSentences, TINY } from '../gap-relm/testing';
import { exportGapRelmToOnnx } from '../onnx/export';
import { createOnnxSession } from './session';

let dir: string;
let planner: string;

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  dir = await mkdtemp(join(tmpdir(), 'onnx-session-'));
  const model = GapRelm.create(TINY, charTokenizer(corpusSentences(20)), 1);
  await exportGapRelmToOnnx(model, dir);
  model.dispose();
  planner = join(dir, 'planner.onnx');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('createOnnxSession', () => {
  it('falls back from cuda (its libraries are absent here) to cpu, and says so in one quiet line', async () => {
    const lines: string[] = [];
    const { session, provider, intraOpNumThreads } = await createOnnxSession(planner, { executionProviders: ['cuda', 'cpu'], log: (l) => lines.push(l) });
    expect(provider).toBe('cpu');
    expect(intraOpNumThreads).toBe(availableParallelism());
    expect(lines).toHaveLength(2);
    // On Linux the missing provider library is found before a native attempt; elsewhere onnxruntime says it.
    expect(lines[0]).toMatch(
      process.platform === 'linux'
        ? /^onnx: provider cuda not installed \(see docs\/onnx\.md, GPU deployment\); using cpu$/
        : /^onnx: provider cuda failed \(.*shared library.*\); trying cpu$/,
    );
    expect(lines[1]).toBe(`onnx: ${planner} runs on provider cpu (${availableParallelism()} threads)`);
    expect(session.inputNames).toEqual(['input_ids', 'attention_mask', 'token_type_ids']);
    expect(session.outputNames).toEqual(['op_logits', 'insert_logits']);
    await session.release();
  });

  it('with cuda alone there is no fallback: the error says why cuda cannot run', async () => {
    await expect(createOnnxSession(planner, { executionProviders: ['cuda'] })).rejects.toThrow(/^createOnnxSession: no execution provider could run .*planner\.onnx: cuda: .*(not installed|shared library)/);
  });

  it('passes intraOpNumThreads and runs the graph', async () => {
    const lines: string[] = [];
    const { session, intraOpNumThreads } = await createOnnxSession(planner, { executionProviders: ['cpu'], intraOpNumThreads: 1, log: (l) => lines.push(l) });
    expect(intraOpNumThreads).toBe(1);
    expect(lines).toEqual([`onnx: ${planner} runs on provider cpu (1 threads)`]);
    const ids = (v: number[]) => new ort.Tensor('int64', BigInt64Array.from(v, BigInt), [1, v.length]);
    const out = await session.run({ input_ids: ids([2, 5, 6, 7, 3]), attention_mask: ids([1, 1, 1, 1, 1]), token_type_ids: ids([0, 0, 0, 0, 0]) });
    const [batch, , ops] = out.op_logits.dims;
    expect([batch, ops]).toEqual([1, 3]);
    expect(out.op_logits.data).toHaveLength(out.op_logits.dims.reduce((a, b) => a * b, 1));
    await session.release();
  });

  it.each([
    [{ executionProviders: ['cpu', 'cuda-x'] }, /createOnnxSession: unknown execution provider "cuda-x" in executionProviders \[cpu, cuda-x\]; onnxruntime-node knows cpu, .*cuda/],
    [{ executionProviders: [] }, /createOnnxSession: executionProviders is empty/],
    [{ intraOpNumThreads: 0 }, /createOnnxSession: intraOpNumThreads must be an integer >= 1, got 0/],
  ])('rejects %j with a clear error', async (options, message) => {
    await expect(createOnnxSession(planner, options)).rejects.toThrow(message);
  });

  it('names every provider that failed when none can run the model', async () => {
    await expect(createOnnxSession(join(dir, 'missing.onnx'), { executionProviders: ['cuda', 'cpu'] })).rejects.toThrow(/^createOnnxSession: no execution provider could run .*missing\.onnx: cuda: .*; cpu: /);
  });
});
