import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Rng } from '@proj/core';
import { CAUSAL_LM_PRESETS, CausalLm, initBackend, saveCausalLm } from '@proj/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliWithInput } from './testing';

// generate, chat and eval on --engine onnx (onnxruntime, KV cache) and --engine tfjs: same tokens, same loss.
let dir: string;
let model: string;
const prompts = ['北京是', '中国的首都', '床前明月光，疑是'];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mateconv-engine-'));
  await initBackend({ backend: 'wasm' });
  // Random weights with a wide init, so greedy picks vary from step to step.
  const lm = CausalLm.random({ ...CAUSAL_LM_PRESETS.tiny, vocab_size: 6400, initializer_range: 0.2 }, new Rng(11));
  model = join(dir, 'model');
  await saveCausalLm(lm, model);
  lm.dispose();
  const lines = readFileSync(fileURLToPath(new URL('../../gap-relm/data/corpus/wiki.zh-cn.txt', import.meta.url)), 'utf8').split('\n');
  await writeFile(join(dir, 'dev.txt'), lines.slice(0, 40).join('\n'));
  expect((await cli('prepare', '--input', join(dir, 'dev.txt'), '--output-dir', join(dir, 'dev'), '--threads', '0', '--no-progress')).code).toBe(0);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const run = async (...argv: string[]) => {
  const out = await cli(...argv, '--backend', 'wasm');
  expect(out.code, out.stderr).toBe(0);
  return out;
};

describe('--engine onnx | tfjs | auto', () => {
  it('generate: the same greedy tokens on onnxruntime (ragged prompts, KV cache) and tfjs, each named on stderr', async () => {
    const args = ['generate', '--model', model, '--prompt', ...prompts, '--max-new-tokens', '12', '--json'];
    const onnx = await run(...args, '--engine', 'onnx');
    const tfjs = await run(...args, '--engine', 'tfjs');
    expect(onnx.stderr).toMatch(/^engine: onnx \(onnxruntime-node, cpu provider, \d+ threads, KV cache; exported from the checkpoint in memory\)$/m);
    expect(tfjs.stderr).toMatch(/^engine: tfjs \(wasm backend/m);
    const tokens = (out: string) => out.trim().split('\n').map((line) => (JSON.parse(line) as { tokens: number[] }).tokens);
    expect(tokens(onnx.stdout)).toEqual(tokens(tfjs.stdout));
    expect(new Set(tokens(onnx.stdout).flat()).size).toBeGreaterThan(3);
    // Seeded sampling draws the same tokens on both too (logits equal to far below a draw's resolution).
    const sampled = ['--sample', '--temperature', '1', '--top-p', '0.95', '--repetition-penalty', '1.2', '--seed', '4'];
    expect((await run(...args, ...sampled, '--engine', 'onnx')).stdout).toBe((await run(...args, ...sampled, '--engine', 'tfjs')).stdout);
  }, 120_000);

  it('eval: held-out loss and perplexity agree within 1e-4 between onnxruntime and tfjs', async () => {
    const args = ['eval', '--model', model, '--data', join(dir, 'dev'), '--seq-len', '16', '--windows', '20'];
    type Report = { heldout: { loss: number; perplexity: number; windows: number } };
    const onnx = JSON.parse((await run(...args, '--engine', 'onnx')).stdout) as Report;
    const tfjs = JSON.parse((await run(...args, '--engine', 'tfjs')).stdout) as Report;
    expect(onnx.heldout.windows).toBe(20);
    expect(tfjs.heldout.windows).toBe(20);
    expect(Math.abs(onnx.heldout.loss - tfjs.heldout.loss)).toBeLessThan(1e-4);
    expect(Math.abs(onnx.heldout.perplexity - tfjs.heldout.perplexity) / tfjs.heldout.perplexity).toBeLessThan(1e-4);
  }, 120_000);

  it('--int8: the onnxruntime model with its weight MatMuls in int8; held-out loss close to float; refused on tfjs', async () => {
    const gen = await run('generate', '--model', model, '--prompt', ...prompts, '--max-new-tokens', '6', '--engine', 'onnx', '--int8');
    expect(gen.stdout.trim().split('\n')).toHaveLength(prompts.length);
    const quantized = Number(/int8: (\d+) weight MatMuls quantized/.exec(gen.stderr)?.[1]);
    // At least an MLP matrix per layer and the LM head (this tiny model's 32-wide attention weights are under the size worth it).
    expect(quantized).toBeGreaterThanOrEqual(CAUSAL_LM_PRESETS.tiny.num_hidden_layers + 1);
    const args = ['eval', '--model', model, '--data', join(dir, 'dev'), '--seq-len', '16', '--windows', '20', '--engine', 'onnx'];
    type Report = { heldout: { loss: number } };
    const [float, int8] = [JSON.parse((await run(...args)).stdout) as Report, JSON.parse((await run(...args, '--int8')).stdout) as Report];
    expect(int8.heldout.loss).not.toBe(float.heldout.loss);
    expect(Math.abs(int8.heldout.loss - float.heldout.loss) / float.heldout.loss).toBeLessThan(0.02);
    const refused = await cli('generate', '--model', model, '--prompt', prompts[0], '--engine', 'tfjs', '--int8', '--backend', 'wasm');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--int8 quantizes the onnxruntime model; it needs --engine onnx or auto');
  }, 120_000);

  it('chat: greedy replies equal on both engines', async () => {
    const chat = (engine: string) => cliWithInput(Readable.from(['你好\n', '再见\n', 'q\n']), 'chat', '--model', model, '--max-new-tokens', '6', '--greedy', '--engine', engine, '--backend', 'wasm');
    const [onnx, tfjs] = [await chat('onnx'), await chat('tfjs')];
    expect(onnx.code, onnx.stderr).toBe(0);
    expect(onnx.stdout).toBe(tfjs.stdout);
  }, 120_000);

  it('auto runs the export beside the checkpoint; a stale one is replaced by an in-memory export', async () => {
    expect((await run('export', '--model', model, '--max-length', '64')).code).toBe(0);
    const args = ['generate', '--model', model, '--prompt', prompts[0], '--max-new-tokens', '4'];
    const auto = await run(...args);
    expect(auto.stderr).toContain(`KV cache; ${join(model, 'onnx', 'model.onnx')})`);
    const lm = CausalLm.random({ ...CAUSAL_LM_PRESETS.tiny, vocab_size: 6400 }, new Rng(12));
    await saveCausalLm(lm, model); // newer weights than the export
    lm.dispose();
    const stale = await run(...args);
    expect(stale.stderr).toContain('is older than the weights; exporting the checkpoint instead');
    expect(stale.stderr).toContain('exported from the checkpoint in memory');
  }, 120_000);

  it('an export too short for the positions asked exits 2 with one line naming --max-length', async () => {
    expect((await run('export', '--model', model, '--max-length', '8', '--no-check')).code).toBe(0);
    const { code, stderr } = await cli('generate', '--model', model, '--prompt', prompts[0], '--max-new-tokens', '12', '--backend', 'wasm');
    expect(code).toBe(2);
    expect(stderr).toMatch(/^mateconv: --engine onnx: OnnxCausalLmSource\.next: 1 rows at \d+ positions \(cached \+ new\) failed in onnxruntime; if the graph was exported with a smaller maxLength \(mateconv export --max-length\)/m);
  }, 120_000);
});
