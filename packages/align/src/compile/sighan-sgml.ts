import { readLines } from '@proj/core';
import { ReadRejectCode, codePoints, skipItem, type SourceItem } from './records';

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescapeXml(text: string): string {
  return text.replace(/&(amp|lt|gt|quot|apos);/g, (_, name: string) => ENTITIES[name]);
}

function tagText(block: string, tag: string): string | undefined {
  const match = new RegExp(`<${tag}\\b[^>]*>([\\s\\S]*?)</${tag}>`).exec(block);
  return match ? unescapeXml(match[1].trim()) : undefined;
}

/** Turns one `<SENTENCE>…</SENTENCE>` block into an item. */
function parseSentence(block: string, file: string, line: number): SourceItem {
  // The SIGHAN releases wrap the sentence in <TEXT>; the original bake-off files use <PASSAGE>.
  const text = tagText(block, 'TEXT') ?? tagText(block, 'PASSAGE');
  if (text === undefined) return skipItem(file, line, 'SENTENCE has no <TEXT> or <PASSAGE>');
  const chars = codePoints(text);
  const edits: Array<{ start: number; length: number; correction: string }> = [];
  for (const match of block.matchAll(/<MISTAKE\b[^>]*>([\s\S]*?)<\/MISTAKE>/g)) {
    const location = tagText(match[1], 'LOCATION');
    const wrong = tagText(match[1], 'WRONG');
    const correction = tagText(match[1], 'CORRECTION');
    if (location === undefined || !/^\d+$/.test(location) || wrong === undefined || correction === undefined) {
      return skipItem(file, line, 'MISTAKE needs <LOCATION> (integer), <WRONG> and <CORRECTION>');
    }
    const start = Number(location) - 1;
    const wrongChars = codePoints(wrong);
    if (start < 0 || start + Math.max(1, wrongChars.length) > chars.length) {
      return {
        kind: 'reject',
        file,
        line,
        reason: `${ReadRejectCode.TRUTH_POSITION_OUT_OF_RANGE}: LOCATION ${location} (WRONG "${wrong}") but the sentence has ${chars.length} characters`,
      };
    }
    const found = chars.slice(start, start + wrongChars.length).join('');
    if (found !== wrong) {
      return {
        kind: 'reject',
        file,
        line,
        reason: `${ReadRejectCode.TRUTH_MISMATCH}: WRONG "${wrong}" at LOCATION ${location} but the sentence has "${found}" there`,
      };
    }
    edits.push({ start, length: wrongChars.length, correction });
  }
  // Apply from the right so earlier positions stay valid; overlapping edits are contradictory.
  edits.sort((x, y) => y.start - x.start);
  const target = chars.slice();
  for (let k = 0; k < edits.length; k++) {
    const { start, length, correction } = edits[k];
    if (k > 0 && start + Math.max(1, length) > edits[k - 1].start) {
      return {
        kind: 'reject',
        file,
        line,
        reason: `${ReadRejectCode.TRUTH_DUPLICATE_POSITION}: MISTAKEs at LOCATION ${start + 1} and ${edits[k - 1].start + 1} overlap`,
      };
    }
    target.splice(start, length, correction);
  }
  return { kind: 'pair', file, line, source: text, targets: [target.join('')] };
}

/**
 * SIGHAN SGML (Automatic-Corpus-Generation test15.sgml):
 * `<SENTENCE><TEXT>…</TEXT><MISTAKE><LOCATION>n</LOCATION><WRONG>…</WRONG>
 * <CORRECTION>…</CORRECTION></MISTAKE>…</SENTENCE>`, LOCATION 1-based. Streamed one SENTENCE
 * block at a time; a sentence without MISTAKEs is its own target. `line` is the line of
 * `<SENTENCE>`.
 */
export async function* readSighanSgml(file: string): AsyncGenerator<SourceItem> {
  let block: string | undefined;
  let startLine = 0;
  for await (const { line, text } of readLines(file)) {
    let rest = text;
    while (rest !== '') {
      if (block === undefined) {
        const open = rest.indexOf('<SENTENCE');
        if (open < 0) {
          // Wrappers such as <ESSAY> or <DOC> carry nothing we need; stray text is a bad line.
          if (!/^\s*(<[^>]*>\s*)*$/.test(rest)) yield skipItem(file, line, 'text outside <SENTENCE>');
          break;
        }
        block = '';
        startLine = line;
        rest = rest.slice(open);
      }
      const close = rest.indexOf('</SENTENCE>');
      if (close < 0) {
        block += `${rest}\n`;
        break;
      }
      const end = close + '</SENTENCE>'.length;
      block += rest.slice(0, end);
      yield parseSentence(block, file, startLine);
      block = undefined;
      rest = rest.slice(end);
    }
  }
  if (block !== undefined) yield skipItem(file, startLine, '<SENTENCE> is never closed');
}
