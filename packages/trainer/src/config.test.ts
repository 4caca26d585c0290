import { describe, expect, it } from 'vitest';
import { configHash, parseTrainConfig, TrainConfigSchema } from './config';
import { checkPrecision } from './precision';

describe('TrainConfigSchema', () => {
  it('fills every default from an empty object', () => {
    expect(parseTrainConfig({})).toEqual({
      epochs: 3,
      max_steps: 0,
      max_seconds: 0,
      batch_size: 8,
      grad_accum_steps: 1,
      steps_per_run: 1,
      group_by_length: false,
      optimizer: 'adamw',
      lr: 3e-4,
      head_lr_scale: 1,
      min_lr: 0,
      warmup_steps: 0,
      schedule: 'cosine',
      power: 1,
      weight_decay: 0.01,
      adam_beta1: 0.9,
      adam_beta2: 0.999,
      adam_eps: 1e-8,
      max_grad_norm: 1,
      ema_decay: 0,
      ema_warmup: false,
      eval_every_steps: 0,
      save_every_steps: 0,
      save_total_limit: 3,
      early_stopping: { metric: 'loss', mode: 'min', patience: 0, min_delta: 0 },
      seed: 42,
      fp16: false,
      bf16: false,
      output_dir: 'runs/train',
      log_every_steps: 10,
    });
    expect(TrainConfigSchema.parse({ early_stopping: { metric: 'f1', mode: 'max' } }).early_stopping).toEqual({ metric: 'f1', mode: 'max', patience: 0, min_delta: 0 });
  });

  it('names every bad field in one error', () => {
    expect(() => parseTrainConfig({ epochs: 0, grad_accum_steps: 1.5, early_stopping: { mode: 'up' } })).toThrow(
      /parseTrainConfig: invalid config: epochs: .*; grad_accum_steps: .*; early_stopping.mode: /,
    );
    expect(() => parseTrainConfig({ head_lr_scale: 0 })).toThrow(/invalid config: head_lr_scale: /);
    expect(() => parseTrainConfig({ head_lr_scale: -2 })).toThrow(/invalid config: head_lr_scale: /);
    expect(() => parseTrainConfig({ head_lr_scale: '10' })).toThrow(/invalid config: head_lr_scale: /);
  });
});

describe('configHash', () => {
  it('ignores bookkeeping fields and key order, but not the recipe', () => {
    const a = parseTrainConfig({ lr: 0.1 });
    expect(configHash(a)).toMatch(/^[0-9a-f]{16}$/);
    expect(configHash({ ...a, output_dir: 'elsewhere', log_every_steps: 1, save_total_limit: 0, save_every_steps: 5, max_seconds: 60, steps_per_run: 4 })).toBe(configHash(a));
    const reordered = Object.fromEntries(Object.entries(a).reverse()) as typeof a;
    expect(configHash(reordered)).toBe(configHash(a));
    expect(configHash({ ...a, lr: 0.2 })).not.toBe(configHash(a));
    expect(configHash({ ...a, early_stopping: { ...a.early_stopping, patience: 3 } })).not.toBe(configHash(a));
  });

  it('hashes head_lr_scale only away from its default, so checkpoints from before the field still resume', () => {
    const a = parseTrainConfig({ lr: 0.1 });
    const { head_lr_scale: _, ...older } = a;
    expect(configHash(older as typeof a)).toBe(configHash(a));
    expect(configHash({ ...a, head_lr_scale: 10 })).not.toBe(configHash(a));
    expect(configHash({ ...a, head_lr_scale: 10 })).not.toBe(configHash({ ...a, head_lr_scale: 30 }));
  });

  it('hashes group_by_length only when on, so checkpoints from before the field still resume', () => {
    const a = parseTrainConfig({ lr: 0.1 });
    const { group_by_length: _, ...older } = a;
    expect(configHash(older as typeof a)).toBe(configHash(a));
    expect(configHash({ ...a, group_by_length: true })).not.toBe(configHash(a));
  });
});

describe('checkPrecision', () => {
  it.each(['cpu', 'wasm', 'webgl', 'tensorflow'])('refuses fp16 and bf16 on %s and accepts float32', (backend) => {
    expect(() => checkPrecision({ fp16: false, bf16: false }, backend)).not.toThrow();
    expect(() => checkPrecision({ fp16: true, bf16: false }, backend)).toThrow(new RegExp(`config.fp16 is set but the tfjs backend "${backend}" trains in float32 only`));
    expect(() => checkPrecision({ fp16: false, bf16: true }, backend)).toThrow(/config.bf16 is set/);
    expect(() => checkPrecision({ fp16: true, bf16: true }, backend)).toThrow(/both set; they are mutually exclusive/);
  });
});
