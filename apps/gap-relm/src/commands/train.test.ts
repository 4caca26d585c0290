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
