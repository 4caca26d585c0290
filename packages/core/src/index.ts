// Randomness
export { Rng, type RngState } from './rng';

// Input records and errors
export { DataError, SkipCounter } from './data-error';
export { readLines, parseJsonLine, stringField, type NumberedLine, type ReadLinesOptions } from './lines';

// Command-line apps: stdout for results, stderr for logs, one-line user errors, numeric flags
export { CliError, CapturedIO, processIO, log, type CliIO } from './cli-io';
export { numberFlag } from './number-flag';
export { type NumberRule } from './number-rule';

// Outputs
export { writeFileAtomic, AtomicFileWriter } from './atomic-write';

// Tensor files (Hugging Face safetensors)
export {
  parseSafetensors,
  serializeSafetensors,
  readSafetensors,
  writeSafetensors,
  safetensorsToFloat32,
  type SafetensorsDType,
  type SafetensorsData,
  type SafetensorsTensor,
  type SafetensorsFile,
} from './safetensors';

// Long-running work
export { Progress, formatDuration, type ProgressOptions } from './progress';
export { mapInWorkers, serveWorkerTasks, resolveWorkerScript, defaultThreadCount, type WorkerScript } from './worker-pool';

// Serving: dynamic micro-batching and latency percentiles
export { MicroBatcher, type MicroBatcherOptions, type MicroBatcherStats } from './micro-batcher';
export { LatencyStats, type LatencySummary } from './latency-stats';

// Serving over HTTP/JSON: the server every serve command runs, its settings and flags, request
// reading with limits, JSON errors and metrics
export { startJsonServer, logBatchFailures, submitToModel, type JsonServer, type JsonServerOptions, type JsonRoute, type RouteContext, type BatcherView } from './http/json-server';
export {
  DEFAULT_HTTP_SERVER_CONFIG,
  HTTP_SERVER_FLAGS,
  addHttpServerOptions,
  pickConfig,
  nextSignal,
  type HttpServerConfig,
  type HttpServerFlag,
  type OptionTarget,
} from './http/server-config';
export { ApiError } from './http/api-error';
export { readBody } from './http/read-body';
export { parseJsonObject, textsField, JsonFields, typeName, codePoints, type TextLimits } from './http/request-json';
export { ServerMetrics, prometheusText, type MetricsSpec, type MetricsSnapshot, type LatencyMetric } from './http/server-metrics';
