// Acceptance: the SIGHAN-15 test set from ../shared/data compiles with zero rejects in each of
// the three SIGHAN formats. The shared folder is not part of the repo, so a clone without it
// skips these tests (set ALIGN_SHARED_DATA to point elsewhere).
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillTemplate } from '../template';
import type { PrecomputedExample } from '../types';
import { compile, type CompileOptions } from './compile';

// Set by vitest.shared.ts to ../shared/data beside the repo (override with PROJ_SHARED_DATA).
const shared = process.env.PROJ_SHARED_DATA ?? '';
const present = existsSync(join(shared, 'PROVENANCE.md'));
if (!present) console.warn(`[align] SIGHAN acceptance tests skipped: no shared data at ${shared} (set PROJ_SHARED_DATA)`);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'align-shared-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(name: string, options: Omit<CompileOptions, 'output'>) {
  const output = join(dir, `${name}.jsonl`);
  const summary = await compile({ progress: false, threads: 2, ...options, output });
  const text = await readFile(output, 'utf8');
  const records = text.trimEnd().split('\n').map((line) => JSON.parse(line) as PrecomputedExample);
  for (const r of records) expect(fillTemplate(r.template_tokens, r.gold_tokens).join('')).toBe(r.target);
  return { summary, text, records, rejects: await readFile(summary.rejectsPath, 'utf8') };
}

describe.skipIf(!present)(`SIGHAN-15 test set from ${shared}`, () => {
  it('ECSpell tsv: 1,100 records, 0 rejects, 0 skipped', async () => {
    const { summary, rejects } = await run('ecspell', {
      input: join(shared, 'ECSpell/csc_evaluation/data/basedata/simplified/test2015.txt'),
      format: 'sighan-tsv',
    });
    expect(summary).toMatchObject({ read: 1100, written: 1100, rejected: {}, skipped: { count: 0 } });
    expect(rejects).toBe('');
  });

  it('official TestInput+TestTruth: 1,100 records, 0 rejects, identical to the ECSpell copy', async () => {
    const ecspell = await run('ecspell-2', {
      input: join(shared, 'ECSpell/csc_evaluation/data/basedata/simplified/test2015.txt'),
      format: 'sighan-tsv',
    });
    const official = await run('official', { input: join(shared, 'SpellGCN/data/sighan15/TestInput.txt'), format: 'sighan-official' });
    expect(official.summary).toMatchObject({ read: 1100, written: 1100, rejected: {}, skipped: { count: 0 } });
    expect(official.rejects).toBe('');
    expect(official.text).toBe(ecspell.text);
  });

  it('SGML: 550 records (the sentences with errors), 0 rejects', async () => {
    const { summary, records, rejects } = await run('sgml', {
      input: join(shared, 'Automatic-Corpus-Generation/model/data/sighan/test15.sgml'),
      format: 'sighan-sgml',
    });
    expect(summary).toMatchObject({ read: 550, written: 550, rejected: {}, skipped: { count: 0 } });
    expect(rejects).toBe('');
    expect(records.every((r) => r.source !== r.target)).toBe(true);
  });
});

describe.skipIf(!present)('other SIGHAN files in the shared data (named data problems)', () => {
  it('SIGHAN-13 SGML: 2 genuine WRONG/TEXT mismatches (lines 840 and 6046), nothing else', async () => {
    const { summary, rejects } = await run('sgml13', {
      input: join(shared, 'Automatic-Corpus-Generation/model/data/sighan/test13.sgml'),
      format: 'sighan-sgml',
    });
    expect(summary).toMatchObject({ read: 974, written: 972, rejected: { truth_mismatch: 2 }, skipped: { count: 0 } });
    expect(rejects.trimEnd().split('\n').map((l) => (JSON.parse(l) as { line: number }).line)).toEqual([840, 6046]);
  });

  it('SIGHAN-13 official and the merged training set: 0 rejects', async () => {
    const s13 = await run('official13', { input: join(shared, 'SpellGCN/data/sighan13/TestInput.txt') });
    expect(s13.summary).toMatchObject({ format: 'sighan-official', read: 998, written: 998, rejected: {}, skipped: { count: 0 } });
    const merged = await run('merged', { input: join(shared, 'SpellGCN/data/merged/TrainingInputAll.txt') });
    expect(merged.summary).toMatchObject({ format: 'sighan-official', read: 10052, written: 10052, rejected: {}, skipped: { count: 0 } });
  });
});
