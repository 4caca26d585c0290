export interface EarlyStoppingConfig {
  metric: string;
  mode: 'min' | 'max';
  patience: number; // 0 = never stop (best/ is still tracked)
  min_delta: number;
}

/** Plain data so it goes into trainer_state.json as is (±Infinity is written as null). */
export interface EarlyStoppingState {
  best: number; // +Infinity (min) / -Infinity (max) before the first evaluation
  best_step: number; // -1 before the first improvement
  bad_evals: number; // evaluations since the last improvement
}

export function initialEarlyStopping(config: EarlyStoppingConfig): EarlyStoppingState {
  return { best: config.mode === 'min' ? Infinity : -Infinity, best_step: -1, bad_evals: 0 };
}

/**
 * Folds one evaluation into the state. Improved = better than best by more than min_delta;
 * stop = patience > 0 and `patience` evaluations in a row did not improve.
 */
export function updateEarlyStopping(
  config: EarlyStoppingConfig,
  state: EarlyStoppingState,
  metrics: Record<string, number>,
  step: number,
): { state: EarlyStoppingState; improved: boolean; stop: boolean } {
  const value = metrics[config.metric];
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new RangeError(
      `updateEarlyStopping: metric "${config.metric}" missing or NaN in evaluation results {${Object.keys(metrics).join(', ')}}, got ${value}`,
    );
  }
  // 1) better by more than min_delta?
  const improved = config.mode === 'min' ? value < state.best - config.min_delta : value > state.best + config.min_delta;
  // 2) move the best or count a bad evaluation
  const next = improved ? { best: value, best_step: step, bad_evals: 0 } : { ...state, bad_evals: state.bad_evals + 1 };
  // 3) out of patience?
  return { state: next, improved, stop: config.patience > 0 && next.bad_evals >= config.patience };
}
