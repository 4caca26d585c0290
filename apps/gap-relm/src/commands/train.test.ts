import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../cli-harness';

describe('gap-relm train --resume-from', () => {
  it('a missing path is one error line and exit code 2, not a fresh start', async () => {
    const out = await mkdtemp(join(tmpdir(), 'gap-relm-resume-'));
    const { code, stdout, stderr } = await cli('train', '--output-dir', out, '--resume-from', join(out, 'nope'), '--no-progress');
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(`gap-relm: --resume-from: directory not found: ${join(out, 'nope')}\n`);
  });

  it('a directory that is neither a run nor a checkpoint of one is refused before any work', async () => {
    const out = await mkdtemp(join(tmpdir(), 'gap-relm-resume-'));
    const { code, stderr } = await cli('train', '--output-dir', join(out, 'run'), '--resume-from', out, '--no-progress');
    expect(code).toBe(2);
    expect(stderr).toBe(`gap-relm: --resume-from: ${out} is neither a Gap-ReLM training run (a dir holding infiller_pretrain, planner_train, joint_finetune) nor a <stage>/checkpoint-<step> dir of one\n`);
  });
});

describe('gap-relm train --head-lr-scale', () => {
  it.each([
    ['0', 'gap-relm: parseTrainConfig: invalid config: --head-lr-scale: Too small: expected number to be >0\n'],
    ['x', `error: option '--head-lr-scale <value>' argument 'x' is invalid. --head-lr-scale must be a number, got "x"\n(run with --help for usage)\n`],
  ])('%s is one error line and exit code 2', async (value, message) => {
    const out = await mkdtemp(join(tmpdir(), 'gap-relm-head-lr-'));
    const { code, stderr } = await cli('train', '--output-dir', out, '--head-lr-scale', value, '--no-progress');
    expect(code).toBe(2);
    expect(stderr).toBe(message);
  });

  it('from scratch (no --init-from) it is refused before any work: every parameter is new there', async () => {
    const out = await mkdtemp(join(tmpdir(), 'gap-relm-head-lr-'));
    const { code, stderr } = await cli('train', '--output-dir', out, '--head-lr-scale', '10', '--no-progress');
    expect(code).toBe(2);
    expect(stderr).toBe('gap-relm: --head-lr-scale 10: it scales the lr of the heads a pretrained encoder lacks, so it needs --init-from; from scratch every parameter is new: use --lr\n');
  });
});
