import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../testing';
import { DEMO_PROMPTS } from '../demo-prompts';
import type { DemoReport } from './demo';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mateconv-demo-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('mateconv demo', () => {
  it('prepares, pretrains and evaluates: held-out perplexity, repetition measures and one sample per fixed prompt', async () => {
    const lines = readFileSync(fileURLToPath(new URL('../../../gap-relm/data/corpus/wiki.zh-cn.txt', import.meta.url)), 'utf8').split('\n');
    const corpus = join(dir, 'corpus.txt');
    await writeFile(corpus, lines.slice(0, 240).join('\n'));
    const out = join(dir, 'run');
    const { code, stdout, stderr } = await cli('demo', '--output-dir', out, '--corpus', corpus, '--dev-lines', '40', '--preset', 'tiny', '--seq-len', '16', '--batch-size', '4', '--max-steps', '4', '--warmup-steps', '1', '--eval-every-steps', '2', '--max-new-tokens', '6', '--backend', 'wasm');
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout) as DemoReport;
    expect(report.pretrain).toMatchObject({ stopped: 'completed', global_step: 4, final: join(out, 'pretrain', 'final') });
    expect(report.eval.heldout!.perplexity).toBeCloseTo(Math.exp(report.eval.heldout!.loss), 3);
    expect(report.eval.repetition!.generations).toBe(DEMO_PROMPTS.length);
    expect(report.eval.samples.map((s) => s.prompt)).toEqual(DEMO_PROMPTS);
    expect(report.settings).toMatchObject({ temperature: 1, topP: 0.95, repetitionPenalty: 1.2 });
    expect(stderr).toMatch(/^engine: onnx \(/m);
    expect(stderr).toContain(`demo: ${DEMO_PROMPTS[0]} → `);
    // Samples of the fixed prompts at each evaluation (steps 2 and 4), greedy and sampled.
    const samples = readFileSync(join(out, 'pretrain', 'samples.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { step: number });
    expect(samples.map((s) => s.step)).toEqual([2, 4].flatMap((step) => Array<number>(2 * DEMO_PROMPTS.length).fill(step)));
    expect(stderr).toContain(`sample step 2 greedy: ${DEMO_PROMPTS[0]} → `);
  }, 180_000);

  it('exits 2 with one line on a missing corpus', async () => {
    const { code, stderr } = await cli('demo', '--corpus', join(dir, 'none.txt'), '--output-dir', join(dir, 'x'));
    expect(code).toBe(2);
    expect(stderr).toBe(`mateconv: --corpus: file not found: ${join(dir, 'none.txt')}\n`);
  });
});
