import { readFile, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundled } from '../bundled-data';
import { cli } from '../cli-harness';

const TINY = ['--hidden-size', '32', '--num-hidden-layers', '1', '--num-attention-heads', '2', '--intermediate-size', '64', '--prompt-length', '2'];

describe('gap-relm train --engine', () => {
  it('auto trains on onnxruntime and says so; a run started there resumes with --engine tfjs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gap-relm-engine-'));
    const clean = join(dir, 'clean.txt');
    await writeFile(clean, (await readFile(bundled.corpus, 'utf8')).split('\n').slice(0, 80).join('\n'));
    const run = join(dir, 'run');
    const common = ['--clean-file', clean, '--dev-samples', '8', '--dev-eval-limit', '8', '--batch-size', '16', '--backend', 'cpu', '--no-progress', ...TINY];
    const first = await cli('train', ...common, '--output-dir', run, '--stages', 'infiller_pretrain,planner_train', '--stage-max-steps', '2,2', '--save-every-steps', '1', '--log-every-steps', '1', '--providers', 'cpu', '--onnx-threads', '1');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain('engine: onnx');
    // --providers / --onnx-threads reach the training sessions (no CUDA attempt with cpu alone).
    expect(first.stderr).toContain('runs on provider cpu (1 threads)');
    expect(first.stderr).not.toContain('provider cuda');
    expect(JSON.parse(first.stdout)).toMatchObject({ engine: 'onnx', stages: [{ name: 'infiller_pretrain', steps: 2 }, { name: 'planner_train', steps: 2 }] });

    // planner_train continues from its step-1 checkpoint on tfjs, into a new dir.
    const resumed = await cli('train', ...common, '--output-dir', join(dir, 'resumed'), '--stages', 'infiller_pretrain,planner_train', '--stage-max-steps', '2,2', '--engine', 'tfjs', '--log-every-steps', '1', '--resume-from', join(run, 'planner_train', 'checkpoint-1'));
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain('engine: tfjs (cpu)');
    const trainLoss = async (r: string) =>
      (await readFile(join(r, 'planner_train', 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l)).filter((m) => m.split === 'train' && m.step === 2)[0].loss as number;
    const [onnx, tfjs] = [await trainLoss(run), await trainLoss(join(dir, 'resumed'))];
    expect(Math.abs(onnx - tfjs) / onnx).toBeLessThan(1e-4);
  }, 300_000);

  it('--providers with a name onnxruntime-node does not know is one error line and exit 2, before any work', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gap-relm-engine-'));
    const { code, stderr } = await cli('train', '--clean-file', bundled.corpus, '--output-dir', join(dir, 'run'), '--providers', 'tpu,cpu', '--backend', 'cpu', '--no-progress', ...TINY);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^gap-relm: --providers: unknown execution provider "tpu"; onnxruntime-node knows .*cpu/m);
    expect(stderr).not.toContain('    at ');
  });
});
