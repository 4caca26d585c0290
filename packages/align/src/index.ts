// Contract types and constants
export {
  PlannerOp,
  MASK_TOKEN,
  DEFAULT_MAX_INSERT_K,
  type PrecomputedExample,
  type AlignStep,
  type LabelResult,
} from './types';

// Tokens
export { tokenize, detokenize, type TokenizeOptions } from './tokenize';

// Alignment
export { levenshtein, alignTokens, MAX_ALIGN_CELLS } from './align-tokens';

// Planner labels and templates
export {
  labelsFromAlignment,
  buildExample,
  rejectCode,
  RejectCode,
  type LabelOptions,
  type BuildExampleOptions,
} from './labels';
export { buildTemplate, fillTemplate, type Template } from './template';

// Dataset compilation
export { compile, type CompileOptions, type CompileSummary } from './compile/compile';
export { detectFormat, explainFormat } from './compile/detect-format';
export { defaultTruthPath } from './compile/sighan-official';
export { COMPILE_FORMATS, ReadRejectCode, type CompileFormat, type MultiTargetPolicy } from './compile/records';
export { MUCGEC_NO_ERROR, MUCGEC_UNANNOTATABLE } from './compile/mucgec';
