/**
 * Python `str` whitespace helpers. Python's `str.isspace()` set is not JavaScript's `\s`:
 * Python adds U+001C–U+001F and U+0085, JavaScript adds U+FEFF. Reference tools we match
 * (sacreBLEU, ChERRANT) split and strip with Python's set.
 */
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_SPACE_RUN = new RegExp(`[${PY_SPACE}]+`, 'u');
const PY_TRAILING_SPACE = new RegExp(`[${PY_SPACE}]+$`, 'u');
const PY_LEADING_SPACE = new RegExp(`^[${PY_SPACE}]+`, 'u');

/** Python `s.split()`: split on whitespace runs, dropping empty pieces. */
export function splitPythonWhitespace(s: string): string[] {
  return s.split(PY_SPACE_RUN).filter((t) => t.length > 0);
}

/** Python `str.rstrip()` with no argument. */
export function rstripPython(s: string): string {
  return s.replace(PY_TRAILING_SPACE, '');
}

/** Python `str.strip()` with no argument. */
export function stripPython(s: string): string {
  return s.replace(PY_LEADING_SPACE, '').replace(PY_TRAILING_SPACE, '');
}
