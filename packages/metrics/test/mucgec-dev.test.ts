// Checks against the real MuCGEC / ChERRANT files in ../shared/data (not committed: 1,137
// dev sentences and 2,000 NLPCC-2018 M2 blocks). Skips with a message when they are absent.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cgecScore, compareM2, extractCharEdits, parseM2, type M2Sentence } from '../src/index';

// PROJ_SHARED_DATA is set by vitest.shared.ts to ../shared/data beside the repo.
const MUCGEC = `${process.env.PROJ_SHARED_DATA ?? ''}/MuCGEC`;
const DEV = `${MUCGEC}/data/MuCGEC/MuCGEC_dev.txt`;
const PRED = `${MUCGEC}/data/MuCGEC/example_pred_dev.txt`;
const NLPCC = `${MUCGEC}/scorers/ChERRANT/samples/nlpcc2018_official.ref.m2.char`;
const present = existsSync(DEV) && existsSync(PRED) && existsSync(NLPCC);
if (!present) console.warn(`mucgec-dev.test.ts: skipped, ${MUCGEC} is not present`);

const tsv = (path: string) =>
  readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.split('\t'));

describe.skipIf(!present)('MuCGEC dev with ChERRANT data', () => {
  it("gives numbers close to ChERRANT's documented 1084/1635/3003, P 0.3987 R 0.2652 F0.5 0.3622", () => {
    const dev = tsv(DEV);
    const pred = tsv(PRED);
    expect(pred.map((p) => p[0])).toEqual(dev.map((d) => d[0]));
    const s = cgecScore(
      dev.map((d) => d[1]),
      pred.map((p) => p[2]),
      dev.map((d) => d.slice(2)),
    );
    console.log(
      `cgecScore on MuCGEC dev: TP ${s.tp} FP ${s.fp} FN ${s.fn} P ${s.precision.toFixed(4)} R ${s.recall.toFixed(4)} ` +
        `F0.5 ${s.f05.toFixed(4)} (ChERRANT: 1084 1635 3003, 0.3987 0.2652 0.3622); skipped ${s.skipped}`,
    );
    // Pinned to what our Levenshtein edit extraction gives (see README); a change here means the
    // alignment or the merging rule changed.
    expect({ tp: s.tp, fp: s.fp, fn: s.fn, skipped: s.skipped }).toEqual({ tp: 1032, fp: 1616, fn: 2841, skipped: 3 });
    expect(Math.abs(s.f05 - 0.3622)).toBeLessThan(0.01);
  });

  it("reproduces most of ChERRANT's own char edits on the 2,000 NLPCC-2018 references", () => {
    // Each `T<k>-A0` line holds reference k's corrected text; compare our edits for it with
    // ChERRANT's edits for annotator k, as exact (start, end, correction) spans.
    const ours: M2Sentence[] = [];
    const theirs: M2Sentence[] = [];
    for (const block of readFileSync(NLPCC, 'utf8').trim().split('\n\n')) {
      const [m2] = parseM2(block, NLPCC);
      const source = m2.source.join('');
      block
        .split('\n')
        .filter((line) => /^T\d+-A0 /.test(line))
        .forEach((line, k) => {
          const target = line.slice(line.indexOf(' ') + 1).replaceAll(' ', '');
          const edits = extractCharEdits(source, target).map((e) => ({ ...e, annotator: 0 }));
          ours.push({ source: m2.source, edits });
          theirs.push({ source: m2.source, edits: m2.edits.filter((e) => e.annotator === k).map((e) => ({ ...e, annotator: 0 })) });
        });
    }
    const s = compareM2(ours, theirs);
    console.log(`edit agreement with ChERRANT on NLPCC-2018: ${s.tp} shared, ours ${s.tp + s.fp}, ChERRANT ${s.tp + s.fn}`);
    expect(s.precision).toBeGreaterThan(0.85);
    expect(s.recall).toBeGreaterThan(0.85);
  });
});
