// The TS side of tools/reference/gap_relm_torch.py, the PyTorch baseline of the Gap-ReLM
// benchmarks: the padded inputs it is fed and how it is run.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { GapRelm, InfillerInputs, PaddedInputs, PlannerRun } from '@proj/models';
import type { InfillerLogitsSource, PlannerLogitsSource } from '@proj/sampling';

const script = fileURLToPath(new URL('../reference/gap_relm_torch.py', import.meta.url));

/** The reference venv's Python (may be missing: the benchmarks then skip PyTorch). */
export const REFERENCE_PYTHON = fileURLToPath(new URL('../reference/.venv/bin/python', import.meta.url));

/** Padded inputs as flat arrays plus [batch, length], with training targets where a step needs them. */
export interface InputsSpec {
  batch: number;
  length: number;
  ids: number[];
  mask: number[];
  types: number[];
  /** Infiller: flat mask positions b * length + i. */
  positions?: number[];
  gold?: number[];
  op_targets?: number[];
  insert_targets?: number[];
}

export const inputsSpec = (x: PaddedInputs): InputsSpec => ({ batch: x.batch, length: x.length, ids: Array.from(x.inputIds), mask: Array.from(x.attentionMask), types: Array.from(x.tokenTypeIds) });

export const infillerInputsSpec = (x: InfillerInputs): InputsSpec => ({ ...inputsSpec(x), positions: Array.from(x.positions) });

/** What every gap_relm_torch.py result starts with. */
export interface TorchRun {
  torch: string;
  transformers: string;
  python: string;
  threads: number;
  attn_implementation: string;
  params: number;
}

/**
 * Runs gap_relm_torch.py on the JSON spec in `specFile` with `args` and returns its JSON line.
 * A failure throws with the script's last stderr line (its exception).
 */
export function runGapRelmTorch<T extends TorchRun>(python: string, specFile: string, args: string[]): T {
  try {
    const out = execFileSync(python, [script, specFile, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 });
    return JSON.parse(out.trim().split('\n').pop()!) as T;
  } catch (error) {
    throw new Error(((error as { stderr?: string }).stderr || (error as Error).message).trim().split('\n').pop());
  }
}


/** What `correct()` decodes with. */
export interface Sources {
  planner: PlannerLogitsSource;
  infiller: InfillerLogitsSource;
}

/**
 * Every engine call of one decode batch (one `plan()` of `correct()`), with its padded inputs and
 * raw output: length groups, infiller windows, no call for sentences without masks, exactly as an
 * engine gets them. This is what PyTorch is fed.
 */
export interface RecordedBatch {
  sentences: number;
  planners: { inputs: PaddedInputs; output: Awaited<ReturnType<PlannerRun>> }[];
  infillers: { inputs: InfillerInputs; output: Float32Array }[];
}

/**
 * `correct()` sources over `model`'s tfjs engine that record each engine call into `log` (a new
 * batch at each `plan()`). `wrapPlanner` wraps the planner source (e.g. the gold plan); the
 * recording sits under it, at the engine boundary, through the model's own codec.
 */
export function recordingSources(model: GapRelm, log: RecordedBatch[], wrapPlanner: (planner: PlannerLogitsSource) => PlannerLogitsSource = (p) => p): Sources {
  const plannerRun = model.plannerRun();
  const infillerRun = model.infillerRun();
  const engine = model.codec.plannerSource(async (x) => {
    const output = await plannerRun(x);
    log[log.length - 1].planners.push({ inputs: x, output });
    return output;
  });
  const planner = wrapPlanner({
    plan: (batch) => {
      log.push({ sentences: batch.sourceTokens.length, planners: [], infillers: [] });
      return engine.plan(batch);
    },
  });
  const infiller = model.codec.infillerSource(async (x) => {
    const output = await infillerRun(x);
    log[log.length - 1].infillers.push({ inputs: x, output });
    return output;
  });
  return { planner, infiller };
}

/** A recorded batch as gap_relm_torch.py reads it (inputs only). */
export const recordedBatchSpec = (b: RecordedBatch) => ({ sentences: b.sentences, planners: b.planners.map((c) => inputsSpec(c.inputs)), infillers: b.infillers.map((c) => infillerInputsSpec(c.inputs)) });
