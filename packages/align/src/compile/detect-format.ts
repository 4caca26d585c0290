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
  return (await explainFormat(file)).format;
}

/**
 * detectFormat with the reason, to report which format `auto` chose and why. Tab-separated files
 * are judged by the shape most sniffed lines have, so a few malformed lines (which the chosen
 * format then rejects and counts) cannot switch a whole file to another format.
 */
export async function explainFormat(file: string): Promise<{ format: CompileFormat; reason: string }> {
  const name = basename(file).toLowerCase();
  if (name.endsWith('.sgml') || name.endsWith('.xml')) return { format: 'sighan-sgml', reason: 'the file name ends in .sgml / .xml' };
  if (name.includes('mucgec')) return { format: 'mucgec', reason: 'the file name contains "mucgec"' };
  const lines: string[] = [];
  for await (const { text } of readLines(file)) {
    if (text.trim() === '') continue;
    lines.push(text);
    if (lines.length >= SNIFF_LINES) break;
  }
  if (lines.length === 0) throw new Error(`detectFormat: ${file} has no non-blank line; pass format`);
  if (lines[0].trimStart().startsWith('<')) return { format: 'sighan-sgml', reason: 'the first line starts with "<"' };
  if (/^\([^()]*\)[\t ]/.test(lines[0])) return { format: 'sighan-official', reason: 'the first line starts with a "(pid=...)" id' };
  const rows = lines.map((line) => line.split('\t'));
  const of = `of the first ${lines.length} non-blank lines`;
  const pairs = rows.filter((fields) => fields.length === 2).length;
  const wide = rows.filter((fields) => fields.length >= 3);
  if (pairs === 0 && wide.length === 0) throw new Error(`detectFormat: cannot tell the format of ${file}: none ${of} has a tab; pass format`);
  if (pairs >= wide.length) return { format: 'tsv', reason: `${pairs} ${of} are source<TAB>target` };
  const sighan = wide.every((fields) => {
    if (fields.length !== 3 || !/^\d+$/.test(fields[0])) return false;
    const s = Array.from(fields[1]);
    const t = Array.from(fields[2]);
    if (s.length !== t.length) return false;
    let differ = 0;
    for (let i = 0; i < s.length; i++) if (s[i] !== t[i]) differ++;
    return differ === Number(fields[0]);
  });
  if (sighan) return { format: 'sighan-tsv', reason: `${wide.length} ${of} are n_errors<TAB>source<TAB>target with n_errors = the differing characters` };
  const ids = wide.filter((fields) => /^\d+$/.test(fields[0])).length;
  if (2 * ids <= wide.length) throw new Error(`detectFormat: cannot tell the format of ${file}: most ${of} have 3 or more columns but no numeric id; pass format`);
  return { format: 'mucgec', reason: `${wide.length} ${of} are id<TAB>source<TAB>reference...` };
}
