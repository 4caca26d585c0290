// Validation shared by the decoders' configs (Gap-ReLM, autoregressive, MaskGIT): each check
// names the calling function and the field in its error.

/**
 * `defaults` overridden by the defined fields of `config`. Unknown keys are errors, so a typo
 * (`topp`, `deleteTreshold`) cannot silently fall back to the default.
 */
export function mergeConfig<T extends object>(defaults: T, config: Partial<T>, fn: string): T {
  if (config === null || typeof config !== 'object') throw new TypeError(`${fn}: config must be an object, got ${String(config)}`);
  const keys = Object.keys(defaults);
  const unknown = Object.keys(config).find((key) => !keys.includes(key));
  if (unknown !== undefined) throw new RangeError(`${fn}: unknown config key "${unknown}" (known: ${keys.join(', ')})`);
  const defined = Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined));
  return { ...defaults, ...defined };
}

export function checkUnit(fn: string, name: string, value: unknown): void {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new RangeError(`${fn}: ${name} must be in [0, 1], got ${String(value)}`);
  }
}

export function checkCount(fn: string, name: string, value: unknown, min: number, allowInfinity: boolean): void {
  const ok = typeof value === 'number' && value >= min && (Number.isInteger(value) || (allowInfinity && value === Infinity));
  if (!ok) {
    throw new RangeError(`${fn}: ${name} must be an integer >= ${min}${allowInfinity ? ' or Infinity' : ''}, got ${String(value)}`);
  }
}

export function checkBoolean(fn: string, name: string, value: unknown): void {
  if (typeof value !== 'boolean') throw new TypeError(`${fn}: ${name} must be a boolean, got ${String(value)}`);
}

export function checkPositive(fn: string, name: string, value: unknown): void {
  if (typeof value !== 'number' || !(value > 0 && value < Infinity)) {
    throw new RangeError(`${fn}: ${name} must be a finite number > 0, got ${String(value)}`);
  }
}

export function checkNonNegative(fn: string, name: string, value: unknown): void {
  if (typeof value !== 'number' || !(value >= 0 && value < Infinity)) {
    throw new RangeError(`${fn}: ${name} must be a finite number >= 0, got ${String(value)}`);
  }
}
