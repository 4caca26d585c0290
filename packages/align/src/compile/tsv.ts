import { readLines } from '@proj/core';
import { skipItem, type SourceItem } from './records';

/** Plain `source TAB target`, one pair a line; blank lines are ignored. */
export async function* readTsv(file: string): AsyncGenerator<SourceItem> {
  for await (const { line, text } of readLines(file)) {
    if (text.trim() === '') continue;
    const fields = text.split('\t');
    if (fields.length !== 2) {
      yield skipItem(file, line, `expected 2 tab-separated fields (source, target), got ${fields.length}`);
      continue;
    }
    yield { kind: 'pair', file, line, source: fields[0], targets: [fields[1]] };
  }
}
