import { readLines } from '@proj/core';
import { ReadRejectCode, codePoints, skipItem, type SourceItem } from './records';

/**
 * ECSpell-style SIGHAN: `n_errors TAB source TAB target`. When source and target have the same
 * length (spelling correction), `n_errors` must equal the number of differing characters;
 * otherwise the line is rejected, since the pair and its count disagree.
 */
export async function* readSighanTsv(file: string): AsyncGenerator<SourceItem> {
  for await (const { line, text } of readLines(file)) {
    if (text.trim() === '') continue;
    const fields = text.split('\t');
    if (fields.length !== 3) {
      yield skipItem(file, line, `expected 3 tab-separated fields (n_errors, source, target), got ${fields.length}`);
      continue;
    }
    const [count, source, target] = fields;
    if (!/^\d+$/.test(count.trim())) {
      yield skipItem(file, line, `n_errors must be a non-negative integer, got ${JSON.stringify(count)}`);
      continue;
    }
    const nErrors = Number(count);
    const s = codePoints(source);
    const t = codePoints(target);
    if (s.length === t.length) {
      let differ = 0;
      for (let i = 0; i < s.length; i++) if (s[i] !== t[i]) differ++;
      if (differ !== nErrors) {
        yield {
          kind: 'reject',
          file,
          line,
          reason: `${ReadRejectCode.N_ERRORS_MISMATCH}: n_errors=${nErrors} but source and target differ at ${differ} characters`,
        };
        continue;
      }
    }
    yield { kind: 'pair', file, line, source, targets: [target] };
  }
}
