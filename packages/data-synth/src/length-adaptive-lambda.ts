/** How the Poisson rate of errors per sentence is chosen. */
export type LambdaMode = 'constant' | 'length' | 'ratio';

export interface LengthAdaptiveLambdaOptions {
  lambda_mode: LambdaMode;
  /** `constant`: the rate for every sentence. */
  base_lambda: number;
  /** `length`: below `min_length` the rate is `min_lambda`, above `max_length` it is `max_lambda`. */
  min_length: number;
  max_length: number;
  min_lambda: number;
  max_lambda: number;
  /** `ratio`: the rate is `error_ratio × length`. */
  error_ratio: number;
}

/**
 * The Poisson rate for a sentence of a given length (in characters):
 * - `constant`: base_lambda;
 * - `length`: linear from (min_length, min_lambda) to (max_length, max_lambda), clamped outside;
 * - `ratio`: error_ratio × length.
 */
export class LengthAdaptiveLambda {
  constructor(readonly options: LengthAdaptiveLambdaOptions) {
    const o = options;
    const nonNegative = (name: keyof LengthAdaptiveLambdaOptions) => {
      const v = o[name] as number;
      if (!(Number.isFinite(v) && v >= 0)) throw new RangeError(`LengthAdaptiveLambda: ${name} must be a finite number >= 0, got ${v}`);
    };
    if (o.lambda_mode === 'constant') nonNegative('base_lambda');
    else if (o.lambda_mode === 'ratio') nonNegative('error_ratio');
    else if (o.lambda_mode === 'length') {
      for (const name of ['min_length', 'max_length', 'min_lambda', 'max_lambda'] as const) nonNegative(name);
      if (!(o.max_length > o.min_length)) {
        throw new RangeError(`LengthAdaptiveLambda: max_length must be > min_length (${o.min_length}), got ${o.max_length}`);
      }
    } else throw new RangeError(`LengthAdaptiveLambda: lambda_mode must be 'constant', 'length' or 'ratio', got ${String(o.lambda_mode)}`);
  }

  at(length: number): number {
    const o = this.options;
    switch (o.lambda_mode) {
      case 'constant':
        return o.base_lambda;
      case 'ratio':
        return o.error_ratio * length;
      case 'length': {
        const t = Math.min(1, Math.max(0, (length - o.min_length) / (o.max_length - o.min_length)));
        return o.min_lambda + t * (o.max_lambda - o.min_lambda);
      }
    }
  }
}
