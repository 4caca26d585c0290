import { readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_PROMPTS } from '../demo-prompts';
import { cli } from '../testing';
import type { TrainingSample } from './pretrain-samples';

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
      const rows = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { split: string; loss: number }).filter((r) => r.split === 'train');
      losses[engine] = rows.map((r) => r.loss);
      // A dense model has no training metrics: the trainer's own fields, no line per log interval.
      expect(Object.keys(rows[0])).toEqual(['step', 'epoch', 'split', 'loss', 'lr', 'grad_norm', 'tokens_per_s']);
      expect(stderr).not.toContain('train step ');
    }
    expect(losses.onnx.length).toBe(3);
    losses.onnx.forEach((loss, i) => expect(Math.abs(loss - losses.tfjs[i]) / losses.tfjs[i]).toBeLessThan(1e-4));
  }, 120_000);

  it('a MoE preset logs lm_loss, aux_loss and max_expert_load every log interval: a stderr line and the train rows of metrics.jsonl', async () => {
    const run = join(dir, 'run-moe');
    const { code, stderr } = await cli('pretrain', '--data', join(dir, 'data'), '--output-dir', run, '--preset', 'cpu-small-moe', '--seq-len', '16', '--batch-size', '2', '--warmup-steps', '1', '--max-steps', '4', '--log-every-steps', '2', '--sample-every-steps', '0', '--backend', 'cpu', '--engine', 'onnx');
    expect(code, stderr).toBe(0);
    const rows = readFileSync(join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, number | string>).filter((r) => r.split === 'train');
    expect(rows.map((r) => r.step)).toEqual([2, 4]);
    const lines = stderr.split('\n').filter((line) => line.startsWith('train step '));
    expect(lines).toHaveLength(2);
    rows.forEach((r, i) => {
      expect(Object.keys(r)).toEqual(['step', 'epoch', 'split', 'loss', 'lm_loss', 'aux_loss', 'max_expert_load', 'lr', 'grad_norm', 'tokens_per_s']);
      const shown = (key: string) => `${key} ${Number((r[key] as number).toPrecision(5))}`;
      expect(lines[i]).toBe(`train step ${r.step}: ${['loss', 'lm_loss', 'aux_loss', 'max_expert_load'].map(shown).join(' ')}`);
    });
  }, 120_000);

  it('--sample-every-steps continues fixed prompts at steps N, 2N, … and the last, into the log and samples.jsonl, the same for the same seed', async () => {
    const args = (run: string, ...more: string[]) => ['pretrain', '--data', join(dir, 'data'), '--output-dir', run, '--preset', 'tiny', '--seq-len', '16', '--batch-size', '4', '--warmup-steps', '1', '--lr', '0.01', '--max-steps', '5', '--save-every-steps', '2', '--sample-every-steps', '2', '--sample-max-new-tokens', '6', '--backend', 'cpu', ...more];
    const read = (run: string) => readFileSync(join(run, 'samples.jsonl'), 'utf8');
    const a = join(dir, 'samples-a');
    const first = await cli(...args(a));
    expect(first.code, first.stderr).toBe(0);
    const samples = read(a).trim().split('\n').map((line) => JSON.parse(line) as TrainingSample);
    const expected = [2, 4, 5].flatMap((step) => (['greedy', 'sampled'] as const).flatMap((mode) => DEMO_PROMPTS.map((prompt) => ({ step, mode, prompt }))));
    expect(samples.map(({ step, mode, prompt }) => ({ step, mode, prompt }))).toEqual(expected);
    for (const sample of samples) expect(sample.text.length, JSON.stringify(sample)).toBeGreaterThan(0);
    expect(first.stderr).toContain(`sample step 2 greedy: ${DEMO_PROMPTS[0]} → ${samples[0].text.replace(/\n/g, ' ')}\n`);
    // The same seed: the same samples, byte for byte.
    const b = join(dir, 'samples-b');
    expect((await cli(...args(b))).code).toBe(0);
    expect(read(b)).toBe(read(a));
    // Resumed from checkpoint-2 into a dir whose samples.jsonl has lines past it (a killed run's): they are replaced.
    const resumed = join(dir, 'samples-resumed');
    await mkdir(resumed, { recursive: true });
    await copyFile(join(a, 'samples.jsonl'), join(resumed, 'samples.jsonl'));
    expect((await cli(...args(resumed, '--resume-from', join(a, 'checkpoint-2')))).code).toBe(0);
    expect(read(resumed)).toBe(read(a));
  }, 120_000);

  it('samples on the onnx training engine come from the weights being trained (equal to generate from the step-4 checkpoint)', async () => {
    const prompts = join(dir, 'prompts.txt');
    await writeFile(prompts, '北京是\n\n长江\n');
    const run = join(dir, 'samples-onnx');
    const { code, stderr } = await cli('pretrain', '--data', join(dir, 'data'), '--output-dir', run, '--preset', 'tiny', '--seq-len', '16', '--batch-size', '4', '--warmup-steps', '1', '--lr', '0.01', '--max-steps', '4', '--save-every-steps', '2', '--sample-every-steps', '2', '--sample-prompts-file', prompts, '--sample-max-new-tokens', '6', '--backend', 'cpu', '--engine', 'onnx');
    expect(code, stderr).toBe(0);
    const greedy = readFileSync(join(run, 'samples.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as TrainingSample).filter((s) => s.mode === 'greedy');
    expect(greedy.map((s) => [s.step, s.prompt])).toEqual([[2, '北京是'], [2, '长江'], [4, '北京是'], [4, '长江']]);
    const generated = await cli('generate', '--model', join(run, 'checkpoint-4'), '--prompts-file', prompts, '--max-new-tokens', '6', '--json', '--engine', 'tfjs', '--backend', 'cpu');
    expect(generated.code, generated.stderr).toBe(0);
    expect(generated.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { text: string }).text)).toEqual(greedy.filter((s) => s.step === 4).map((s) => s.text));
  }, 120_000);

  it.each([
    [['--sample-every-steps', '-1'], '--sample-every-steps must be an integer >= 0, got "-1"'],
    [['--sample-every-steps', '2', '--sample-prompts-file', '/nonexistent/prompts.txt'], 'mateconv: --sample-prompts-file: file not found: /nonexistent/prompts.txt'],
  ])('%j exits 2 with one line naming the flag', async (flags, message) => {
    const { code, stderr } = await cli('pretrain', '--data', join(dir, 'data'), '--output-dir', join(dir, 'never'), '--preset', 'tiny', '--seq-len', '16', '--backend', 'cpu', ...flags);
    expect(code).toBe(2);
    expect(stderr.split('\n').find((line) => line.includes(message.split(':')[0]))).toContain(message);
  });
});
