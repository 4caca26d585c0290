import { describe, expect, it } from 'vitest';
import { initialEarlyStopping, updateEarlyStopping, type EarlyStoppingConfig } from './early-stopping';

function run(config: EarlyStoppingConfig, values: number[]) {
  let state = initialEarlyStopping(config);
  const trace: Array<{ improved: boolean; stop: boolean; best: number }> = [];
  values.forEach((value, i) => {
    const verdict = updateEarlyStopping(config, state, { [config.metric]: value }, i + 1);
    state = verdict.state;
    trace.push({ improved: verdict.improved, stop: verdict.stop, best: state.best });
  });
  return { state, trace };
}

describe('early stopping', () => {
  it('starts at +Infinity for min and -Infinity for max', () => {
    expect(initialEarlyStopping({ metric: 'loss', mode: 'min', patience: 1, min_delta: 0 }).best).toBe(Infinity);
    expect(initialEarlyStopping({ metric: 'f1', mode: 'max', patience: 1, min_delta: 0 }).best).toBe(-Infinity);
  });

  it.each([
    // mode, patience, min_delta, values, improved flags, stops at (1-based eval, 0 = never)
    ['min', 2, 0, [3, 2, 2.5, 2.1, 1], [true, true, false, false, true], 4],
    ['min', 2, 0, [3, 2, 2.5, 1.5, 1.6], [true, true, false, true, false], 0],
    ['max', 1, 0, [0.5, 0.6, 0.6], [true, true, false], 3], // equal is not better
    ['max', 3, 0.05, [0.5, 0.54, 0.56, 0.7], [true, false, true, true], 0], // 0.54 is within min_delta
    ['min', 0, 0, [1, 2, 3, 4, 5], [true, false, false, false, false], 0], // patience 0: never stops
  ] as const)('%s, patience %i, min_delta %f over %j', (mode, patience, minDelta, values, improved, stopsAt) => {
    const { trace } = run({ metric: 'm', mode, patience, min_delta: minDelta }, [...values]);
    expect(trace.map((t) => t.improved)).toEqual(improved);
    const firstStop = trace.findIndex((t) => t.stop);
    expect(firstStop + 1).toBe(stopsAt);
  });

  it('remembers the step of the best value', () => {
    const { state } = run({ metric: 'loss', mode: 'min', patience: 0, min_delta: 0 }, [5, 3, 4, 3.5]);
    expect(state).toEqual({ best: 3, best_step: 2, bad_evals: 2 });
  });

  it('names a missing metric and the ones it got', () => {
    expect(() => updateEarlyStopping({ metric: 'f1', mode: 'max', patience: 1, min_delta: 0 }, initialEarlyStopping({ metric: 'f1', mode: 'max', patience: 1, min_delta: 0 }), { loss: 1 }, 1)).toThrow(
      /metric "f1" missing or NaN in evaluation results \{loss\}/,
    );
  });
});
