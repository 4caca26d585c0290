import { createHash } from 'node:crypto';
import { z } from 'zod';

/**
 * Every knob of a training run, with its default and description written once (the CLI prints
 * both in --help). `train()` parses its input with
 * this schema, logs the result and saves it as `<output_dir>/config.json`.
 */
export const TrainConfigSchema = z
  .object({
    epochs: z.number().int().min(1).default(3).describe('passes over the training examples'),
    max_steps: z.number().int().min(0).default(0).describe('stop after this many optimizer steps; 0 = run all epochs'),
    max_seconds: z
      .number()
      .min(0)
      .default(0)
      .describe('stop at the first optimizer step that ends this many seconds after train() was called (setup and evaluation included), with a checkpoint; the LR schedule still counts the planned steps, so the run is a prefix of the unlimited one; 0 = no limit'),
    batch_size: z.number().int().min(1).default(8).describe('examples per micro-batch'),
    grad_accum_steps: z.number().int().min(1).default(1).describe('micro-batches per optimizer step'),
    steps_per_run: z
      .number()
      .int()
      .min(1)
      .default(1)
      .describe('optimizer steps an engine may take in one call when it can (the onnx engine, one micro-batch per step, no EMA): weights and optimizer state cross between host and runtime once per call; the same numbers as one step per call; steps that log, evaluate, save or end the run close a call'),
    group_by_length: z
      .boolean()
      .default(false)
      .describe('micro-batches of examples of similar length (sorted within windows of 50 batches, then the batches shuffled), so a batch pads little; needs the task to report example lengths'),
    optimizer: z.enum(['adamw', 'adam']).default('adamw').describe('adam = no weight decay at all'),
    lr: z.number().positive().default(3e-4).describe('peak learning rate, reached at the end of warmup'),
    head_lr_scale: z
      .number()
      .positive()
      .default(1)
      .describe('lr multiplier for the parameters the task reports as newly initialized (heads a pretrained checkpoint lacks); 1 = one lr for all'),
    min_lr: z.number().min(0).default(0).describe('floor the decay reaches at the last step'),
    warmup_steps: z.number().int().min(0).default(0).describe('optimizer steps of linear warmup from 0'),
    schedule: z.enum(['cosine', 'linear', 'polynomial', 'constant']).default('cosine').describe('decay after warmup'),
    power: z.number().positive().default(1).describe('exponent of the polynomial schedule'),
    weight_decay: z.number().min(0).default(0.01).describe('decoupled (AdamW); biases and norms excluded'),
    adam_beta1: z.number().min(0).lt(1).default(0.9).describe('Adam first-moment decay'),
    adam_beta2: z.number().min(0).lt(1).default(0.999).describe('Adam second-moment decay'),
    adam_eps: z.number().positive().default(1e-8).describe('Adam denominator epsilon'),
    max_grad_norm: z.number().min(0).default(1).describe('clip the global gradient norm; 0 = no clipping'),
    ema_decay: z.number().min(0).lt(1).default(0).describe('EMA of weights used for evaluation; 0 = off'),
    ema_warmup: z.boolean().default(false).describe('decay = min(ema_decay, (1 + t) / (10 + t))'),
    eval_every_steps: z.number().int().min(0).default(0).describe('0 = evaluate at the end of each epoch'),
    save_every_steps: z.number().int().min(0).default(0).describe('0 = checkpoint at each evaluation'),
    save_total_limit: z.number().int().min(0).default(3).describe('keep the newest N checkpoint-<step>/; 0 = all'),
    early_stopping: z
      .object({
        metric: z.string().min(1).default('loss').describe('a key of task.evaluate(); also picks best/'),
        mode: z.enum(['min', 'max']).default('min').describe('min: lower is better (loss); max: higher (F1)'),
        patience: z.number().int().min(0).default(0).describe('evaluations without improvement; 0 = never stop'),
        min_delta: z.number().min(0).default(0).describe('smallest change that counts as an improvement'),
      })
      .strict()
      .prefault({}),
    seed: z.number().int().default(42).describe('shuffling and the rng handed to task.loss'),
    fp16: z.boolean().default(false).describe('refused unless the backend trains in float16'),
    bf16: z.boolean().default(false).describe('refused unless the backend trains in bfloat16'),
    output_dir: z.string().min(1).default('runs/train').describe('run dir: config, logs, checkpoints'),
    log_every_steps: z.number().int().min(1).default(10).describe('optimizer steps between train log lines'),
  })
  .strict()
  .refine((c) => !(c.fp16 && c.bf16), {
    message: 'fp16 and bf16 are mutually exclusive: set at most one',
    path: ['bf16'],
  })
  .refine((c) => c.min_lr <= c.lr, { message: 'min_lr must be <= lr', path: ['min_lr'] });

export type TrainConfig = z.output<typeof TrainConfigSchema>;
export type TrainConfigInput = z.input<typeof TrainConfigSchema>;

/** Parses a config, naming every bad field in one error. */
export function parseTrainConfig(input: unknown): TrainConfig {
  const result = TrainConfigSchema.safeParse(input ?? {});
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new TypeError(`parseTrainConfig: invalid config: ${issues}`);
  }
  return result.data;
}

// Fields that change where or how often things are written, not the numbers the run computes.
// max_seconds only decides where a run stops (the schedule ignores it), so a run stopped by it
// resumes under another limit; steps_per_run only groups the same steps into fewer engine calls.
const BOOKKEEPING_FIELDS = new Set(['output_dir', 'log_every_steps', 'save_total_limit', 'save_every_steps', 'max_seconds', 'steps_per_run']);
// Fields added after checkpoints were written: hashed only when not at their default (which
// reproduces the older runs), so those checkpoints still resume.
const LATER_FIELDS: Partial<Record<keyof TrainConfig, unknown>> = { head_lr_scale: 1, group_by_length: false };

/**
 * sha256 over the fields that determine the math (keys sorted). Saved in every checkpoint so a
 * resume with a different recipe is refused instead of silently producing a different curve.
 */
export function configHash(config: TrainConfig): string {
  const canonical = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(canonical);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(
        Object.keys(value)
          .sort()
          .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
      );
    }
    return value;
  };
  const relevant = Object.fromEntries(
    Object.entries(config).filter(([k, v]) => !BOOKKEEPING_FIELDS.has(k) && !(k in LATER_FIELDS && LATER_FIELDS[k as keyof TrainConfig] === v)),
  );
  return createHash('sha256').update(JSON.stringify(canonical(relevant))).digest('hex').slice(0, 16);
}
