import { closeSync, existsSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CliError } from '@proj/core';

// The plumbing every app shares (results to stdout, logs to stderr, CliError = one line and exit 2).
export { CliError, log, processIO, type CliIO } from '@proj/core';

/**
 * Checks an input file exists and is not a directory; the error names the flag that gave it.
 * Inputs are text unless `binary`: a NUL byte in the first 8 KiB means a binary file given by
 * mistake (a model, an archive), refused rather than read as lines of U+FFFD.
 */
export function requireFile(path: string, flag: string, options: { binary?: boolean } = {}): string {
  if (!existsSync(path)) throw new CliError(`${flag}: file not found: ${path}`);
  if (statSync(path).isDirectory()) throw new CliError(`${flag}: ${path} is a directory, expected a file`);
  if (!options.binary) {
    const head = Buffer.alloc(8192);
    const fd = openSync(path, 'r');
    let read: number;
    try {
      read = readSync(fd, head, 0, head.length, 0);
    } finally {
      closeSync(fd);
    }
    const nul = head.subarray(0, read).indexOf(0);
    if (nul >= 0) throw new CliError(`${flag}: ${path} is not a text file (a NUL byte at offset ${nul}); expected UTF-8 text`);
  }
  return path;
}

/** Checks an input directory exists and is one. */
export function requireDir(path: string, flag: string): string {
  if (!existsSync(path)) throw new CliError(`${flag}: directory not found: ${path}`);
  if (!statSync(path).isDirectory()) throw new CliError(`${flag}: ${path} is a file, expected a directory`);
  return path;
}

/**
 * Checks a trained model directory: it must hold gap_relm_config.json. Given a run directory,
 * the error names the model directories inside it (`final/`, `best/`).
 */
export function requireModelDir(path: string, flag: string): string {
  requireDir(path, flag);
  const CONFIG = 'gap_relm_config.json';
  if (existsSync(join(path, CONFIG))) return path;
  const inside = readdirSync(path, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(path, entry.name, CONFIG)))
    .map((entry) => join(path, entry.name))
    .sort((a, b) => Number(b.endsWith('final')) - Number(a.endsWith('final')));
  const hint = inside.length > 0 ? `; ${inside.join(' and ')} ${inside.length === 1 ? 'has' : 'have'} one` : '';
  throw new CliError(`${flag}: ${path} is not a Gap-ReLM model directory (no ${CONFIG})${hint}`);
}

/** Checks a file can be written at `path`: not an existing directory, and no file where a parent directory must go. */
export function requireOutputFile(path: string | undefined, flag: string): void {
  if (path === undefined) return;
  if (existsSync(path) && statSync(path).isDirectory()) throw new CliError(`${flag}: ${path} is a directory, expected a file to write`);
  const blocking = fileInTheWay(dirname(resolve(path)));
  if (blocking !== null) throw new CliError(`${flag}: ${blocking} is a file, expected a directory (writing ${path})`);
}

/** Checks a directory can be written at `path`: neither it nor a parent is an existing file. */
export function requireOutputDir(path: string, flag: string): void {
  const blocking = fileInTheWay(resolve(path));
  if (blocking !== null) throw new CliError(`${flag}: ${blocking} is a file, expected a directory${blocking === resolve(path) ? '' : ` (in ${path})`}`);
}

/** The nearest existing path at or above `dir`, when it is a file rather than a directory. */
function fileInTheWay(dir: string): string | null {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(d)) return statSync(d).isDirectory() ? null : d;
    if (dirname(d) === d) return null;
  }
}

/** File-system errors that are the user's input, not a bug: reported as one line and exit code 2. */
const USER_FS_ERRORS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EISDIR: 'is a directory, expected a file',
  ENOTDIR: 'a path component is a file, expected a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EEXIST: 'already exists',
  ENAMETOOLONG: 'name too long',
  ENOSPC: 'no space left on the device',
};

/** One line for a Node file-system error caused by a path the user gave, else null. */
export function userFsError(error: unknown): string | null {
  const e = error as NodeJS.ErrnoException | null;
  if (e === null || typeof e !== 'object' || typeof e.code !== 'string' || typeof e.path !== 'string') return null;
  const what = USER_FS_ERRORS[e.code];
  return what === undefined ? null : `${e.path}: ${what} (${e.code}${e.syscall ? ` in ${e.syscall}` : ''})`;
}

/**
 * Refuses two flags naming the same file (`--output X --rejects X`, `--input X --output X`): one
 * write would replace the other's, or the input, and the command would still exit 0. Unset flags
 * are ignored.
 */
export function requireDistinctPaths(paths: Record<string, string | undefined>): void {
  const seen = new Map<string, string>();
  for (const [flag, path] of Object.entries(paths)) {
    if (path === undefined) continue;
    const key = resolve(path);
    const other = seen.get(key);
    if (other !== undefined) throw new CliError(`${other} and ${flag} name the same file (${path}); give them different paths`);
    seen.set(key, flag);
  }
}
