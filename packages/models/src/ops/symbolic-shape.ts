import type { Dim } from './ops';

/**
 * Shape arithmetic over symbolic dims for the graph recorder. A symbolic dim is a product of
 * factors joined by '*', each a symbol ('batch') or a positive integer ('4*seq'). Unknowable
 * results are '?'.
 */

interface Factors {
  n: number;
  symbols: string[];
}

function factors(d: Dim): Factors | null {
  if (typeof d === 'number') return { n: d, symbols: [] };
  if (d === '?') return null;
  const f: Factors = { n: 1, symbols: [] };
  for (const part of d.split('*')) {
    if (/^\d+$/.test(part)) f.n *= Number(part);
    else f.symbols.push(part);
  }
  return f;
}

function format(f: Factors): Dim {
  if (f.symbols.length === 0) return f.n;
  const syms = [...f.symbols].sort();
  return f.n === 1 ? syms.join('*') : `${f.n}*${syms.join('*')}`;
}

export function dimEquals(a: Dim, b: Dim): boolean {
  return typeof a === 'number' || typeof b === 'number' ? a === b : format(factors(a) ?? { n: NaN, symbols: [a] }) === format(factors(b) ?? { n: NaN, symbols: [b] });
}

export function product(dims: Dim[]): Dim {
  const out: Factors = { n: 1, symbols: [] };
  for (const d of dims) {
    const f = factors(d);
    if (f === null) return '?';
    out.n *= f.n;
    out.symbols.push(...f.symbols);
  }
  return format(out);
}

/** total / known, when the division is exact in factors; '?' otherwise. */
export function quotient(total: Dim, known: Dim): Dim {
  const t = factors(total);
  const k = factors(known);
  if (t === null || k === null || t.n % k.n !== 0) return '?';
  const rest = [...t.symbols];
  for (const s of k.symbols) {
    const i = rest.indexOf(s);
    if (i < 0) return '?';
    rest.splice(i, 1);
  }
  return format({ n: t.n / k.n, symbols: rest });
}

/** NumPy broadcasting; a symbol against a number > 1 takes the number (the graph asserts it at run time). */
export function broadcastShapes(a: Dim[], b: Dim[], op: string): Dim[] {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x === 1) out.push(y);
    else if (y === 1 || dimEquals(x, y)) out.push(x);
    else if (typeof x === 'string' && typeof y === 'number') out.push(y);
    else if (typeof y === 'string' && typeof x === 'number') out.push(x);
    else throw new RangeError(`GraphOps.${op}: shapes [${a}] and [${b}] do not broadcast`);
  }
  return out;
}

/** The target of a reshape with its -1 resolved. */
export function resolveReshape(input: Dim[], target: Dim[], op = 'reshape'): Dim[] {
  const inferred = target.filter((d) => d === -1).length;
  if (inferred > 1) throw new RangeError(`GraphOps.${op}: at most one -1 in [${target}]`);
  if (inferred === 0) return target;
  const known = product(target.filter((d) => d !== -1));
  return target.map((d) => (d === -1 ? quotient(product(input), known) : d));
}
