import { readLines } from '@proj/core';
import { ReadRejectCode, skipItem, type SourceItem } from './records';

/** MuCGEC's reference meaning "the source is already correct". */
export const MUCGEC_NO_ERROR = '没有错误';
/** MuCGEC's reference meaning "annotators could not correct this sentence". */
export const MUCGEC_UNANNOTATABLE = '无法标注';

/**
 * MuCGEC: `id TAB source TAB ref1 [TAB ref2 …]`. A `没有错误` reference becomes the source
 * itself, `无法标注` references are dropped (a sentence with only those is rejected as
 * `unannotatable`), and duplicate references are merged. The item keeps every remaining
 * reference; the multi-target policy (`all` or `closest`) is applied when labelling.
 */
export async function* readMucgec(file: string): AsyncGenerator<SourceItem> {
  for await (const { line, text } of readLines(file)) {
    if (text.trim() === '') continue;
    const fields = text.split('\t');
    if (fields.length < 3) {
      yield skipItem(file, line, `expected id TAB source TAB reference..., got ${fields.length} fields`);
      continue;
    }
    const source = fields[1];
    const references = fields.slice(2).filter((ref) => ref !== '');
    if (references.length === 0) {
      yield skipItem(file, line, 'no non-empty reference');
      continue;
    }
    const targets = [
      ...new Set(references.filter((ref) => ref !== MUCGEC_UNANNOTATABLE).map((ref) => (ref === MUCGEC_NO_ERROR ? source : ref))),
    ];
    if (targets.length === 0) {
      yield { kind: 'reject', file, line, reason: `${ReadRejectCode.UNANNOTATABLE}: MuCGEC id ${fields[0]} has only ${MUCGEC_UNANNOTATABLE} references` };
      continue;
    }
    yield { kind: 'pair', file, line, source, targets };
  }
}
