/** What `lrAt` needs; `train()` builds it from the config and the number of optimizer steps. */
export interface LrSchedule {
  lr: number; // peak
  min_lr: number;
  warmup_steps: number;
  total_steps: number;
  schedule: 'cosine' | 'linear' | 'polynomial' | 'constant';
  power?: number; // polynomial only; default 1
}

/**
 * Learning rate for the update that follows `step` completed OPTIMIZER steps (not micro-batches).
 * Same convention as Hugging Face's get_*_schedule_with_warmup, so recipes port over: the first
 * update of a warmed-up run uses lr 0.
 */
export function lrAt(step: number, s: LrSchedule): number {
  if (!Number.isInteger(step) || step < 0) throw new RangeError(`lrAt: step must be an integer >= 0, got ${step}`);
  if (s.min_lr > s.lr) throw new RangeError(`lrAt: min_lr (${s.min_lr}) must be <= lr (${s.lr})`);
  // 1) linear warmup from 0 to the peak
  if (step < s.warmup_steps) return (s.lr * step) / s.warmup_steps;
  // 2) constant: stay at the peak
  if (s.schedule === 'constant') return s.lr;
  // 3) past the end: the floor
  const decaySteps = s.total_steps - s.warmup_steps;
  if (decaySteps <= 0 || step >= s.total_steps) return s.min_lr;
  // 4) decay from the peak to the floor, progress p in [0, 1)
  const p = (step - s.warmup_steps) / decaySteps;
  const range = s.lr - s.min_lr;
  switch (s.schedule) {
    case 'cosine':
      return s.min_lr + range * 0.5 * (1 + Math.cos(Math.PI * p));
    case 'linear':
      return s.min_lr + range * (1 - p);
    case 'polynomial':
      return s.min_lr + range * (1 - p) ** (s.power ?? 1);
    default:
      throw new RangeError(`lrAt: unknown schedule ${JSON.stringify(s.schedule)}`);
  }
}
