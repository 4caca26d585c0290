import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { readLines, type NumberedLine } from '@proj/core';
import { ReadRejectCode, codePoints, skipItem, type SourceItem } from './records';

/** `(pid=A2-0011-1) TAB sentence`; the id part may be `NID=00401` or `sighan13-id=0`. */
const INPUT_LINE = /^\(([^()]*)\)[\t ](.*)$/;

async function* nonBlank(file: string): AsyncGenerator<NumberedLine> {
  for await (const numbered of readLines(file)) if (numbered.text.trim() !== '') yield numbered;
}

/**
 * The truth file beside an official input file: `TestInput.txt` → `TestTruth.txt`,
 * `TrainingInputAll.txt` → `TrainingTruthAll.txt`.
 */
export function defaultTruthPath(input: string): string {
  const name = basename(input);
  if (!name.includes('Input')) {
    throw new Error(`sighan-official: cannot guess the truth file for ${input} (no "Input" in its name); pass truth`);
  }
  const truth = join(dirname(input), name.replace('Input', 'Truth'));
  if (!existsSync(truth)) throw new Error(`sighan-official: truth file ${truth} for ${input} does not exist; pass truth`);
  return truth;
}

/** Truth ids are the input id without parentheses, or only the part after `=` (`pid=X` → `X`). */
function idsMatch(inputId: string, truthId: string): boolean {
  return truthId === inputId || truthId === inputId.slice(inputId.indexOf('=') + 1);
}

type TruthEdits = { id: string; edits: Array<{ position: number; correction: string }> };

function parseTruth(text: string): TruthEdits | string {
  const parts = text.split(',').map((part) => part.trim());
  const id = parts[0].replace(/^\((.*)\)$/, '$1');
  if (id === '') return 'empty id';
  if (parts.length === 2 && parts[1] === '0') return { id, edits: [] };
  if (parts.length < 3 || parts.length % 2 === 0) {
    return `expected "ID, 0" or "ID, pos, char[, pos, char...]", got ${parts.length - 1} fields after the id`;
  }
  const edits: TruthEdits['edits'] = [];
  for (let k = 1; k < parts.length; k += 2) {
    if (!/^\d+$/.test(parts[k])) return `position must be an integer, got ${JSON.stringify(parts[k])}`;
    if (parts[k + 1] === '') return `empty correction after position ${parts[k]}`;
    edits.push({ position: Number(parts[k]), correction: parts[k + 1] });
  }
  return { id, edits };
}

/**
 * The official SIGHAN bake-off pair: `TestInput.txt` lines `(pid=ID) TAB sentence` and
 * `TestTruth.txt` lines `ID, 0` or `ID, pos, char[, pos, char…]` (1-based positions). Both files
 * are streamed in lockstep (the bake-off files list the same ids in the same order, which is
 * checked line by line), so neither is loaded whole.
 *
 * A correction equal to the character already there is a no-op, not an error: the simplified
 * copies of the SIGHAN sets keep edits whose traditional characters differed (週 → 周).
 */
export async function* readSighanOfficial(input: string, truthFile: string): AsyncGenerator<SourceItem> {
  const inputs = nonBlank(input);
  const truths = nonBlank(truthFile);
  try {
    while (true) {
      const [a, b] = await Promise.all([inputs.next(), truths.next()]);
      if (a.done && b.done) return;
      if (a.done) {
        yield skipItem(truthFile, b.value!.line, `no matching line left in ${input}`);
        continue;
      }
      if (b.done) {
        yield skipItem(input, a.value.line, `no matching line left in ${truthFile}`);
        continue;
      }
      const { line, text } = a.value;
      const inputMatch = INPUT_LINE.exec(text);
      if (!inputMatch) {
        yield skipItem(input, line, 'expected "(ID) TAB sentence"');
        continue;
      }
      const [, inputId, sentence] = inputMatch;
      const truth = parseTruth(b.value.text);
      if (typeof truth === 'string') {
        yield skipItem(truthFile, b.value.line, truth);
        continue;
      }
      if (!idsMatch(inputId, truth.id)) {
        yield skipItem(truthFile, b.value.line, `truth id ${truth.id} does not match input id ${inputId} at ${input}:${line}`);
        continue;
      }
      const chars = codePoints(sentence);
      const where = `${truthFile}:${b.value.line} id ${truth.id}`;
      const seen = new Set<number>();
      let reason: string | undefined;
      for (const { position } of truth.edits) {
        if (position < 1 || position > chars.length) {
          reason = `${ReadRejectCode.TRUTH_POSITION_OUT_OF_RANGE}: position ${position} but the sentence has ${chars.length} characters (${where})`;
          break;
        }
        if (seen.has(position)) {
          reason = `${ReadRejectCode.TRUTH_DUPLICATE_POSITION}: position ${position} is corrected twice (${where})`;
          break;
        }
        seen.add(position);
      }
      if (reason !== undefined) {
        yield { kind: 'reject', file: input, line, reason };
        continue;
      }
      const target = chars.slice();
      for (const { position, correction } of truth.edits) target[position - 1] = correction;
      yield { kind: 'pair', file: input, line, source: sentence, targets: [target.join('')] };
    }
  } finally {
    await Promise.all([inputs.return(undefined), truths.return(undefined)]);
  }
}
