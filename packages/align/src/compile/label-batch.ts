import { levenshtein } from '../align-tokens';
import { buildExample, rejectCode } from '../labels';
import { tokenize } from '../tokenize';
import type { LabelItem, MultiTargetPolicy } from './records';

/** Settings every worker receives once (as workerData). */
export interface LabelBatchOptions {
  maxInsertK: number;
  groupAsciiAlnum: boolean;
  multiTarget: MultiTargetPolicy;
}

/** A batch's output, already serialised so the main thread only appends it. */
export interface LabelBatchResult {
  /** Items labelled (input records), for progress. */
  items: number;
  /** JSONL records, each line ending in `\n`. */
  records: string;
  written: number;
  /** JSONL rejects `{file, line, reason}`, each line ending in `\n`. */
  rejects: string;
  /** The reason code of each reject, for the summary. */
  rejectCodes: string[];
}

function closestTarget(source: string, targets: readonly string[], groupAsciiAlnum: boolean): string {
  const sourceTokens = tokenize(source, { groupAsciiAlnum });
  let best = targets[0];
  let bestDistance = Infinity;
  for (const target of targets) {
    const distance = levenshtein(sourceTokens, tokenize(target, { groupAsciiAlnum }));
    if (distance < bestDistance) {
      best = target;
      bestDistance = distance;
    }
  }
  return best;
}

/**
 * Labels a batch of read items: the same pure function runs in-thread (threads = 1) and in the
 * compile worker, so thread count cannot change the output.
 */
export function labelBatch(items: readonly LabelItem[], options: LabelBatchOptions): LabelBatchResult {
  let records = '';
  let rejects = '';
  let written = 0;
  const rejectCodes: string[] = [];
  const reject = (file: string, line: number, reason: string) => {
    rejects += `${JSON.stringify({ file, line, reason })}\n`;
    rejectCodes.push(rejectCode(reason));
  };
  for (const item of items) {
    if (item.kind === 'reject') {
      reject(item.file, item.line, item.reason);
      continue;
    }
    const targets =
      item.targets.length > 1 && options.multiTarget === 'closest'
        ? [closestTarget(item.source, item.targets, options.groupAsciiAlnum)]
        : item.targets;
    for (const target of targets) {
      const result = buildExample(item.source, target, options);
      if (result.ok) {
        records += `${JSON.stringify(result.example)}\n`;
        written++;
      } else {
        reject(item.file, item.line, result.reason);
      }
    }
  }
  return { items: items.length, records, written, rejects, rejectCodes };
}
