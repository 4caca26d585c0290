import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../testing';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mateconv-pretrain-'));
  const lines = readFileSync(fileURLToPath(new URL('../../../gap-relm/data/corpus/wiki.zh-cn.txt', import.meta.url)), 'utf8').split('\n');
  await writeFile(join(dir, 'train.txt'), lines.slice(0, 200).join('\n'));
  expect((await cli('prepare', '--input', join(dir, 'train.txt'), '--output-dir', join(dir, 'data'), '--no-progress')).code).toBe(0);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('mateconv pretrain --engine', () => {
  it('trains the tiny preset on onnxruntime with the same per-step losses as on tfjs (1e-4 relative)', async () => {
    const losses: Record<string, number[]> = {};
    for (const engine of ['tfjs', 'onnx']) {
      const run = join(dir, `run-${engine}`);
      const { code, stderr } = await cli('pretrain', '--data', join(dir, 'data'), '--output-dir', run, '--preset', 'tiny', '--seq-len', '16', '--batch-size', '4', '--warmup-steps', '1', '--lr', '0.01', '--max-steps', '3', '--log-every-steps', '1', '--backend', 'cpu', '--engine', engine);
      expect(code, stderr).toBe(0);
      expect(stderr).toContain(engine === 'onnx' ? 'engine: onnx (training steps on onnxruntime-node' : 'engine: tfjs (cpu)');
      losses[engine] = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { split: string; loss: number }).filter((r) => r.split === 'train').map((r) => r.loss);
    }
    expect(losses.onnx.length).toBe(3);
    losses.onnx.forEach((loss, i) => expect(Math.abs(loss - losses.tfjs[i]) / losses.tfjs[i]).toBeLessThan(1e-4));
  }, 120_000);
});
