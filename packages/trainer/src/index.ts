// Public API of @proj/trainer.

// The loop and the task interface
export { train, type TrainOptions, type TrainResult, type PeriodicHook } from './train';
export type { TrainTask, TrainMetrics, StepContext, EvalContext } from './task';
export type { AheadStep, TrainEngine, EngineFactory, EngineSetup, MicroStepResult } from './engine';
export { createTfjsEngine } from './tfjs-engine';

// Configuration
export { TrainConfigSchema, parseTrainConfig, configHash, type TrainConfig, type TrainConfigInput } from './config';
export { checkPrecision } from './precision';

// Schedules, optimizers, gradients, averaging, stopping
export { lrAt, type LrSchedule } from './lr-schedule';
export { createAdamW, type AdamWOptions } from './optimizers/adamw';
export { createAdam, type AdamOptions } from './optimizers/adam';
export { isNoDecayParam, type Optimizer, type OptimizerState, type HostTensor } from './optimizers/optimizer';
export { clipByGlobalNorm } from './clip-grad-norm';
export { safeVariableGrads } from './variable-grads';
export { GradAccumulator } from './grad-accumulator';
export { Ema, type EmaState } from './ema';
export { initialEarlyStopping, updateEarlyStopping, type EarlyStoppingConfig, type EarlyStoppingState } from './early-stopping';

// Checkpoints
export {
  saveCheckpoint,
  saveBest,
  loadCheckpoint,
  listCheckpoints,
  pruneCheckpoints,
  removeStaleDirs,
  readTrainerState,
  resolveCheckpoint,
  type TrainerState,
  type CheckpointParts,
} from './checkpoint';

// Logs and plots
export { MetricsLog, readMetricsLog, type MetricsRecord } from './metrics-log';
export { TfEventsWriter, encodeEvent, frameRecord, crc32c, maskedCrc32c, type TfEventsWriterOptions } from './tfevents-writer';
export { renderLossPlot, niceTicks, type PlotPanel, type PlotSeries } from './loss-plot';
