/** Bounds of a number (a JSON request field, a command-line flag); `integer` also refuses 1.5. */
export interface NumberRule {
  min?: number;
  max?: number;
  /** true: the number must be > min, not >= min. */
  exclusiveMin?: boolean;
  /** true: the number must be < max, not <= max. */
  exclusiveMax?: boolean;
  integer?: boolean;
}

/** Whether `value` is a finite number within `rule`. */
export function meetsNumberRule(value: number, rule: NumberRule): boolean {
  const { min = -Infinity, max = Infinity, exclusiveMin = false, exclusiveMax = false, integer = false } = rule;
  return Number.isFinite(value) && (!integer || Number.isInteger(value)) && (exclusiveMin ? value > min : value >= min) && (exclusiveMax ? value < max : value <= max);
}

/** What `rule` asks for, to follow "must be" in an error: `an integer >= 1`, `a number in [0, 1)`. */
export function describeNumberRule(rule: NumberRule): string {
  const { min = -Infinity, max = Infinity, exclusiveMin = false, exclusiveMax = false, integer = false } = rule;
  const kind = integer ? 'an integer' : 'a number';
  if (min > -Infinity && max < Infinity) return `${kind} in ${exclusiveMin ? '(' : '['}${min}, ${max}${exclusiveMax ? ')' : ']'}`;
  if (min > -Infinity) return `${kind} ${exclusiveMin ? '>' : '>='} ${min}`;
  if (max < Infinity) return `${kind} ${exclusiveMax ? '<' : '<='} ${max}`;
  return kind;
}
