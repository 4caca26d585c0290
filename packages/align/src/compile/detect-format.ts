import { basename } from 'node:path';
import { readLines } from '@proj/core';
import type { CompileFormat } from './records';

/** Lines looked at to guess a format. */
const SNIFF_LINES = 50;

/**
 * Guesses a dataset's format from its name and first lines. Prefer passing `format`: a 3-column
 * file can be ECSpell SIGHAN (`n_errors`, source, target) or MuCGEC with one reference; it is
 * taken as sighan-tsv only when every sniffed `n_errors` equals the number of differing
 * characters.
 */
export async function detectFormat(file: string): Promise<CompileFormat> {
  const name = basename(file).toLowerCase();
  if (name.endsWith('.sgml') || name.endsWith('.xml')) return 'sighan-sgml';
  if (name.includes('mucgec')) return 'mucgec';
  const lines: string[] = [];
  for await (const { text } of readLines(file)) {
    if (text.trim() === '') continue;
    lines.push(text);
    if (lines.length >= SNIFF_LINES) break;
  }
  if (lines.length === 0) throw new Error(`detectFormat: ${file} has no non-blank line; pass format`);
  if (lines[0].trimStart().startsWith('<')) return 'sighan-sgml';
  if (/^\([^()]*\)[\t ]/.test(lines[0])) return 'sighan-official';
  const rows = lines.map((line) => line.split('\t'));
  if (rows.every((fields) => fields.length === 2)) return 'tsv';
  if (rows.some((fields) => fields.length >= 4)) return 'mucgec';
  if (rows.every((fields) => fields.length === 3 && /^\d+$/.test(fields[0]))) {
    const countsMatch = rows.every(([count, source, target]) => {
      const s = Array.from(source);
      const t = Array.from(target);
      if (s.length !== t.length) return false;
      let differ = 0;
      for (let i = 0; i < s.length; i++) if (s[i] !== t[i]) differ++;
      return differ === Number(count);
    });
    return countsMatch ? 'sighan-tsv' : 'mucgec';
  }
  throw new Error(`detectFormat: cannot tell the format of ${file} from its first ${lines.length} lines; pass format`);
}
