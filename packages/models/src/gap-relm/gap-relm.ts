import * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import { Rng, readSafetensors, safetensorsToFloat32, writeFileAtomic, writeSafetensors, type SafetensorsTensor } from '@proj/core';
import type { Correction, GapRelmDecodeConfig, InfillerLogitsSource, PlannerLogitsSource } from '@proj/sampling';
import type { ConfusionSet } from '@proj/data-synth';
import { bertConfigToJson, resolveBertConfig, type BertConfig } from '../bert/config';
import { BertForMaskedLM, BertModel } from '../bert/model';
import { loadBertCheckpoint, loadBertForMaskedLM } from '../bert/weights';
import { initConstant } from '../layers/init';
import { initLayerNorm } from '../layers/layer-norm';
import { initLinear } from '../layers/linear';
import type { Ops } from '../ops/ops';
import { ParameterStore } from '../ops/parameter-store';
import { TfOps } from '../ops/tf-ops';
import { resolvePretrained } from '../pretrained/resolve-pretrained';
import { BertTokenizer } from '../tokenizers/bert-tokenizer';
import { GAP_RELM_CONFIG_FILE, GapRelmCodec, SIMILAR_CHARS_FILE, readSavedGapRelm, type InfillerRun, type PlannerRun } from './codec';
import { parseGapRelmConfig, promptCount, type GapRelmConfig, type GapRelmConfigInput } from './config';
import { INFILLER, infillerForward, infillerHeadAt } from './infiller';
import type { EncoderInputs } from './encoder';
import type { InfillerInputs, PaddedInputs, SpecialIds } from './inputs';
import { PLANNER, initPlannerHeads, plannerForward, type PlannerOutput } from './planner';
import { initPromptEncoder, promptEmbeddings } from './prompt-encoder';
import type { CodePointIds, LengthBudget } from './tokens';

/** Prefix of prompt-encoder parameters inside a GapRelm. */
export const PROMPT = 'prompt.';
/** Name of prompt-encoder tensors in the saved checkpoints. */
const PROMPT_CKPT = 'prompt_encoder.';

export type GapRelmRole = 'planner' | 'infiller';

/** Copies every parameter of `from` into `to` under `rename(name)` (null = skip), then frees `from`. */
function adopt(to: ParameterStore, from: ParameterStore, rename: (name: string) => string | null): void {
  for (const name of from.names()) {
    const target = rename(name);
    if (target !== null) to.set(target, from.get(name).clone());
  }
  from.dispose();
}

/**
 * Gap-ReLM: a planner tags each source slot (KEEP / DELETE / REPLACE and 0..K insertions after
 * it), the tags make a template with `[MASK]` slots, and an infiller (a BERT masked LM) fills
 * them. Both are BERT encoders held in ONE ParameterStore under `planner.`, `infiller.` and
 * `prompt.` so a trainer stage can freeze either by name; each saves under Hugging Face names.
 */
export class GapRelm {
  /** Text ↔ model inputs and raw logits ↔ decoding sources, shared with the onnxruntime engine. */
  readonly codec: GapRelmCodec;
  readonly ids: CodePointIds;
  readonly special: SpecialIds;
  readonly budget: LengthBudget;

  private constructor(
    readonly config: GapRelmConfig,
    readonly tokenizer: BertTokenizer,
    /** Encoder hyper-parameters shared by planner and infiller (dropout = config.dropout). */
    readonly bertConfig: BertConfig,
    readonly store: ParameterStore,
    /**
     * From `fromPretrained`: the parameters initialized here rather than loaded from the
     * checkpoint (a new MLM head's transform and bias, the planner heads, the prompt encoders);
     * the decoder tied to the word embeddings is loaded. Null for a model created from scratch or
     * loaded from a saved Gap-ReLM. The trainer's head_lr_scale applies to them.
     */
    readonly newParameters: ReadonlySet<string> | null = null,
    /** The similar-character table decoding reads with `similar_fill_bonus`, saved as similar_chars.json. */
    readonly similarChars: ConfusionSet | null = null,
  ) {
    this.codec = GapRelmCodec.forModel(config, tokenizer, bertConfig, similarChars);
    ({ ids: this.ids, special: this.special, budget: this.budget } = this.codec.planner);
  }

  /**
   * Random init (seeded) of a model trained from scratch; `tokenizer` fixes the vocabulary.
   * `similarChars` is the table `similar_fill_bonus` decodes with (required when it is > 0).
   */
  static create(configInput: GapRelmConfigInput, tokenizer: BertTokenizer, seed: number, similarChars: ConfusionSet | null = null): GapRelm {
    const config = parseGapRelmConfig(configInput, 'GapRelm.create');
    if (config.init_from !== null) throw new RangeError(`GapRelm.create: init_from is ${JSON.stringify(config.init_from)}; use GapRelm.fromPretrained to load it`);
    const bert = resolveBertConfig(
      {
        vocabSize: tokenizer.vocab.size,
        hiddenSize: config.hidden_size,
        numHiddenLayers: config.num_hidden_layers,
        numAttentionHeads: config.num_attention_heads,
        intermediateSize: config.intermediate_size,
        maxPositionEmbeddings: config.max_position_embeddings,
        padTokenId: tokenizer.padId,
        hiddenDropoutProb: config.dropout,
        attentionProbsDropoutProb: config.dropout,
      },
      'GapRelm.create',
    );
    const rng = new Rng(seed);
    const store = new ParameterStore();
    if (!config.share_encoder) adopt(store, BertModel.random(bert, rng, { pooler: false }).params, (n) => `${PLANNER}bert.${n}`);
    adopt(store, BertForMaskedLM.random(bert, rng).params, (n) => INFILLER + n);
    return GapRelm.finishInit(config, tokenizer, bert, store, rng, null, similarChars);
  }

  /**
   * Both encoders from the Hugging Face BERT checkpoint `config.init_from` (e.g. a local copy of
   * hfl/chinese-macbert-base: config.json, model.safetensors, vocab.txt), a pretrained name
   * (`bge-small-zh`) or an ONNX export (see `resolvePretrained`); the infiller keeps its MLM head
   * when the checkpoint has one, else gets a new one (transform + decoder tied to the word
   * embeddings + bias, as BertForMaskedLM). Heads and prompts are random (seeded). The tokenizer is
   * read from the same directory unless given; `similarChars` as for `create`.
   */
  static async fromPretrained(configInput: GapRelmConfigInput, seed: number, options: { tokenizer?: BertTokenizer; similarChars?: ConfusionSet | null } = {}): Promise<GapRelm> {
    const config = parseGapRelmConfig(configInput, 'GapRelm.fromPretrained');
    if (config.init_from === null) throw new RangeError('GapRelm.fromPretrained: config.init_from is null; use GapRelm.create for random init');
    // A pretrained name or an ONNX export becomes an HF directory (fetched / imported into the cache).
    const { dir } = await resolvePretrained(config.init_from);
    const tokenizer = options.tokenizer ?? (await BertTokenizer.fromDirectory(dir));
    const rng = new Rng(seed);
    const store = new ParameterStore();
    const infiller = (await loadBertCheckpoint(dir)).model;
    const bert: BertConfig = { ...infiller.config, hiddenDropoutProb: config.dropout, attentionProbsDropoutProb: config.dropout };
    if (!config.share_encoder) {
      // The planner takes the encoder only (no MLM head, no pooler), named planner.bert.*.
      const planner = (await loadBertCheckpoint(dir)).model;
      const bare = (n: string) => (planner instanceof BertForMaskedLM ? (n.startsWith('bert.') ? n.slice(5) : null) : n);
      adopt(store, planner.params, (n) => {
        const b = bare(n);
        return b === null || b.startsWith('pooler.') ? null : `${PLANNER}bert.${b}`;
      });
    }
    if (infiller instanceof BertForMaskedLM) adopt(store, infiller.params, (n) => (n.startsWith('bert.pooler.') ? null : INFILLER + n));
    else adopt(store, infiller.params, (n) => (n.startsWith('pooler.') ? null : `${INFILLER}bert.${n}`));
    const types = `${INFILLER}bert.embeddings.token_type_embeddings.weight`;
    if (config.template_type_init === 'copy_type_0' && config.infiller_input === 'source_and_template') {
      const rows = store.shape(types)[0];
      if (rows < 2) throw new RangeError(`GapRelm.fromPretrained: template_type_init copy_type_0 needs 2 token types, but ${config.init_from} has ${rows}`);
      const table = store.get(types);
      table.assign(tf.tidy(() => tf.concat([tf.slice(table, [0, 0], [1, -1]), tf.slice(table, [0, 0], [1, -1]), tf.slice(table, [2, 0], [rows - 2, -1])], 0)));
    }
    const loaded = new Set(store.names());
    if (!(infiller instanceof BertForMaskedLM)) {
      initLinear(store, `${INFILLER}cls.predictions.transform.dense`, bert.hiddenSize, bert.hiddenSize, bert.initializerRange, rng);
      initLayerNorm(store, `${INFILLER}cls.predictions.transform.LayerNorm`, bert.hiddenSize);
      initConstant(store, `${INFILLER}cls.predictions.bias`, [bert.vocabSize], 0);
    }
    return GapRelm.finishInit(config, tokenizer, bert, store, rng, loaded, options.similarChars ?? null);
  }

  /** Planner heads and prompt encoders (seeded); `loaded` = what a pretrained checkpoint gave, the rest is new. */
  private static finishInit(config: GapRelmConfig, tokenizer: BertTokenizer, bert: BertConfig, store: ParameterStore, rng: Rng, loaded: ReadonlySet<string> | null, similarChars: ConfusionSet | null): GapRelm {
    const std = bert.initializerRange;
    initPlannerHeads(store, bert.hiddenSize, config.max_insert_k, std, rng);
    const prompts = promptCount(config);
    if (config.ptuning !== 'none' && prompts > 0) {
      for (const role of GapRelm.promptRoles(config)) initPromptEncoder(store, GapRelm.promptPrefix(config, role), config.ptuning, prompts, bert.hiddenSize, std, rng);
    }
    return new GapRelm(config, tokenizer, bert, store, loaded && new Set(store.names().filter((n) => !loaded.has(n))), similarChars);
  }

  private static promptRoles(config: GapRelmConfig): GapRelmRole[] {
    return config.share_prompts ? ['planner'] : ['planner', 'infiller'];
  }

  /** Store prefix of a role's prompt encoder: `prompt.` when shared, else `prompt.planner.` / `prompt.infiller.`. */
  static promptPrefix(config: GapRelmConfig, role: GapRelmRole): string {
    return config.share_prompts ? PROMPT : `${PROMPT}${role}.`;
  }

  // ---------------------------------------------------------------------------------------------
  // Parameters

  /** Every parameter by its store name (`planner.*`, `infiller.*`, `prompt.*`). */
  params(): Map<string, tf.Variable> {
    return new Map(this.store.names().map((n) => [n, this.store.get(n)]));
  }

  /** Architecture and parameter counts, one line (the trainer banner prints it). */
  describe(): string {
    const c = this.bertConfig;
    const count = (prefix: string) => this.store.names().filter((n) => n.startsWith(prefix)).reduce((s, n) => s + this.store.get(n).size, 0);
    const p = promptCount(this.config);
    return (
      `Gap-ReLM: ${this.config.share_encoder ? '1 BERT shared by planner and infiller' : '2 × BERT'} (${c.numHiddenLayers} layers, hidden ${c.hiddenSize}, ${c.numAttentionHeads} heads, ffn ${c.intermediateSize}, vocab ${c.vocabSize}, max positions ${c.maxPositionEmbeddings}); ` +
      `planner ${count(PLANNER).toLocaleString('en-US')} params (${this.config.share_encoder ? 'heads only; ' : ''}op head 3, insert head K+1=${this.config.max_insert_k + 1}); ` +
      `infiller ${count(INFILLER).toLocaleString('en-US')} params (${this.config.infiller_input}); ` +
      `prompts ${this.config.ptuning === 'none' || p === 0 ? 'off' : `${this.config.ptuning} × ${p} tokens, ${this.config.share_prompts ? 'shared' : 'one per model'}, ${count(PROMPT).toLocaleString('en-US')} params`}; ` +
      `total ${this.store.count().toLocaleString('en-US')}`
    );
  }

  // ---------------------------------------------------------------------------------------------
  // Forward passes, written once against Ops<T> (TfOps trains, GraphOps records)

  /** Prompt embeddings [P, H] for a role, or null without P-tuning. */
  prompts<T>(ops: Ops<T>, role: GapRelmRole): T | null {
    if (this.special.prompts === 0) return null;
    return promptEmbeddings(ops, GapRelm.promptPrefix(this.config, role), this.config.ptuning as 'lstm' | 'mlp');
  }

  planner<T>(ops: Ops<T>, inputs: { inputIds: T; attentionMask: T }, training?: { rng: Rng }): PlannerOutput<T> {
    return plannerForward(ops, this.bertConfig, inputs, this.prompts(ops, 'planner'), training, this.config.share_encoder ? `${INFILLER}bert.` : `${PLANNER}bert.`);
  }

  /**
   * `share_encoder`: MLM logits [N, vocab] at flat `positions` of the planner's encoder output
   * (`PlannerOutput.hidden`), through the infiller's head: BERT-CSC on the planner's pass.
   */
  plannerMlm<T>(ops: Ops<T>, hidden: T, positions: T): T {
    if (!this.config.share_encoder) throw new Error('GapRelm.plannerMlm: the planner has its own encoder (share_encoder false), which the infiller\'s MLM head was not trained on');
    return infillerHeadAt(ops, this.bertConfig, hidden, positions);
  }

  /** MLM logits [N, vocab] at flat `positions` only. */
  infiller<T>(ops: Ops<T>, inputs: EncoderInputs<T> & { attentionMask: T; tokenTypeIds: T }, positions: T, training?: { rng: Rng }): T {
    return infillerForward(ops, this.bertConfig, inputs, this.prompts(ops, 'infiller'), positions, training);
  }

  /**
   * `planner_init: 'infiller'`: the planner's encoder (`planner.bert.*`) becomes a copy of the
   * infiller's (`infiller.bert.*`), tensor by tensor where both have one of the same shape (the
   * infiller's extra token types, if any, are not read by the planner, which is all type 0).
   * Returns how many tensors were copied; none is an error (the two encoders share no layout).
   */
  copyInfillerEncoderIntoPlanner(): number {
    let copied = 0;
    for (const name of this.store.names()) {
      if (!name.startsWith(`${INFILLER}bert.`)) continue;
      const target = `${PLANNER}${name.slice(INFILLER.length)}`;
      if (!this.store.has(target)) continue;
      const from = this.store.get(name);
      const to = this.store.get(target);
      if (from.shape.join() !== to.shape.join()) continue;
      to.assign(from);
      copied++;
    }
    if (copied === 0) throw new RangeError('GapRelm.copyInfillerEncoderIntoPlanner: no infiller.bert.* tensor has a planner.bert.* counterpart of the same shape');
    return copied;
  }

  /** Padded typed arrays → tensors (int32 [B, L]; position ids and slot hints only when the inputs carry them). */
  static tensors(x: PaddedInputs & Pick<InfillerInputs, 'hintIds' | 'hintMask'>): EncoderInputs<tf.Tensor> & { attentionMask: tf.Tensor; tokenTypeIds: tf.Tensor } {
    const shape = [x.batch, x.length];
    return {
      inputIds: tf.tensor(x.inputIds, shape, 'int32'),
      attentionMask: tf.tensor(x.attentionMask, shape, 'int32'),
      tokenTypeIds: tf.tensor(x.tokenTypeIds, shape, 'int32'),
      ...(x.positionIds ? { positionIds: tf.tensor(x.positionIds, shape, 'int32') } : {}),
      ...(x.hintIds && x.hintMask ? { hintIds: tf.tensor(x.hintIds, shape, 'int32'), hintMask: tf.tensor(x.hintMask, [...shape, 1], 'float32') } : {}),
    };
  }

  plannerInputs(sources: readonly (readonly number[])[]): PaddedInputs {
    return this.codec.plannerInputs(sources);
  }

  infillerInputs(sources: readonly (readonly number[])[], templates: readonly (readonly number[])[], maskPositions: readonly (readonly number[])[]): InfillerInputs {
    return this.codec.infillerInputs(sources, templates, maskPositions);
  }

  // ---------------------------------------------------------------------------------------------
  // Logits sources for @proj/sampling (tfjs, batched, padded, tidy)

  /** Longest source the planner reads; later tokens are always KEEP with no insertion. */
  get maxPlannerTokens(): number {
    return this.codec.maxPlannerTokens;
  }

  /** The tfjs planner engine: one call on padded inputs (what `plannerSource` runs, by length group). */
  plannerRun(): PlannerRun {
    const ops = new TfOps(this.store);
    return async (x) => {
      const [opT, insT] = tf.tidy(() => {
        const out = this.planner(ops, GapRelm.tensors(x));
        return [out.opLogits, out.insertLogits];
      });
      const [op, ins] = (await Promise.all([opT.data(), insT.data()])) as Float32Array[];
      const slots = opT.shape[1] as number;
      tf.dispose([opT, insT]);
      return { op, ins, slots };
    };
  }

  /** The tfjs infiller engine: one call on padded inputs with mask positions. */
  infillerRun(): InfillerRun {
    const ops = new TfOps(this.store);
    return async (x) => {
      const logitsT = tf.tidy(() => this.infiller(ops, GapRelm.tensors(x), tf.tensor1d(x.positions, 'int32')));
      const data = (await logitsT.data()) as Float32Array;
      logitsT.dispose();
      return data;
    };
  }

  plannerSource(): PlannerLogitsSource {
    return this.codec.plannerSource(this.plannerRun());
  }

  infillerSource(): InfillerLogitsSource {
    return this.codec.infillerSource(this.infillerRun());
  }

  /** Corrects `texts` with `correct()` of @proj/sampling over this model's planner and infiller. */
  async correct(texts: string[], decode: Partial<GapRelmDecodeConfig> = {}): Promise<Correction[]> {
    return this.codec.correct(this.plannerSource(), this.infillerSource(), texts, decode);
  }

  /** Whether a source of n tokens fits the planner (used by tests and data checks). */
  fitsPlanner(n: number): boolean {
    return this.codec.fitsPlanner(n);
  }

  // ---------------------------------------------------------------------------------------------
  // Checkpoints

  /** Checkpoint name → store name, per file. */
  private layout(): { planner: Map<string, string>; infiller: Map<string, string>; infillerPrompts: Map<string, string> } {
    const planner = new Map<string, string>();
    const infiller = new Map<string, string>();
    const infillerPrompts = new Map<string, string>();
    const plannerPrompt = GapRelm.promptPrefix(this.config, 'planner');
    const infillerPrompt = GapRelm.promptPrefix(this.config, 'infiller');
    for (const name of this.store.names()) {
      if (name.startsWith(PLANNER)) planner.set(name.slice(PLANNER.length), name);
      else if (name.startsWith(INFILLER)) {
        infiller.set(name.slice(INFILLER.length), name);
        // A shared encoder is written into both checkpoints, so each stays a complete Hugging Face model.
        if (this.config.share_encoder && name.startsWith(`${INFILLER}bert.`)) planner.set(name.slice(INFILLER.length), name);
      }
      else if (name.startsWith(plannerPrompt) && (this.config.share_prompts || !name.startsWith(infillerPrompt))) planner.set(PROMPT_CKPT + name.slice(plannerPrompt.length), name);
      else if (name.startsWith(infillerPrompt)) infillerPrompts.set(PROMPT_CKPT + name.slice(infillerPrompt.length), name);
      else throw new Error(`GapRelm.save: parameter ${name} belongs to no checkpoint`);
    }
    return { planner, infiller, infillerPrompts };
  }

  /**
   * Writes `dir/`: gap_relm_config.json, the tokenizer (vocab.txt, tokenizer_config.json,
   * special_tokens_map.json), planner/{config.json, model.safetensors} (`bert.*`,
   * `planner.op_head.*`, `planner.insert_head.*`, `prompt_encoder.*`) and
   * infiller/{config.json, model.safetensors} — a standard BertForMaskedLM (`bert.*`,
   * `cls.predictions.*`) that transformers loads — plus infiller/prompt_encoder.safetensors when
   * the infiller has its own prompts, and similar_chars.json when the model has a similar-character
   * table. Every file is written atomically; gap_relm_config.json
   * comes last, so a directory that has it is complete.
   */
  async save(dir: string): Promise<void> {
    const { planner, infiller, infillerPrompts } = this.layout();
    const write = async (path: string, names: Map<string, string>) => {
      const entries: [string, SafetensorsTensor][] = [];
      for (const [ckpt, name] of [...names].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
        entries.push([ckpt, { dtype: 'F32', shape: this.store.shape(name), data: await this.store.toFloat32(name) }]);
      }
      await writeSafetensors(path, entries, { format: 'pt' });
    };
    const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
    await write(join(dir, 'planner', 'model.safetensors'), planner);
    await writeFileAtomic(
      join(dir, 'planner', 'config.json'),
      json({ ...bertConfigToJson(this.bertConfig, 'BertModel'), gap_relm_role: 'planner', max_insert_k: this.config.max_insert_k, prompt_length: this.special.prompts }),
    );
    await write(join(dir, 'infiller', 'model.safetensors'), infiller);
    await writeFileAtomic(join(dir, 'infiller', 'config.json'), json(bertConfigToJson(this.bertConfig, 'BertForMaskedLM')));
    if (infillerPrompts.size > 0) await write(join(dir, 'infiller', 'prompt_encoder.safetensors'), infillerPrompts);
    await this.tokenizer.save(dir);
    if (this.similarChars !== null) await writeFileAtomic(join(dir, SIMILAR_CHARS_FILE), `${JSON.stringify(this.similarChars.toJSON())}\n`);
    await writeFileAtomic(join(dir, GAP_RELM_CONFIG_FILE), json(this.config));
  }

  /** A model saved by `save()`. */
  static async load(dir: string): Promise<GapRelm> {
    const { config, tokenizer, bertConfig: bertFile, similarChars } = await readSavedGapRelm(dir, 'GapRelm.load');
    const bert: BertConfig = { ...bertFile, hiddenDropoutProb: config.dropout, attentionProbsDropoutProb: config.dropout };
    // Same shapes as saved, then the saved values.
    const store = new ParameterStore();
    if (!config.share_encoder) adopt(store, BertModel.random(bert, new Rng(0), { pooler: false }).params, (n) => `${PLANNER}bert.${n}`);
    adopt(store, BertForMaskedLM.random(bert, new Rng(0)).params, (n) => INFILLER + n);
    const model = GapRelm.finishInit(config, tokenizer, bert, store, new Rng(0), null, similarChars);
    try {
      await model.loadWeights(dir);
    } catch (err) {
      model.dispose();
      throw err;
    }
    return model;
  }

  /**
   * Reads the weights of a directory written by `save()` into this model's Variables (trainer
   * resume). Every parameter must be present with its shape; the infiller goes through
   * `loadBertForMaskedLM`, so a directory it rejects is rejected here too.
   */
  async loadWeights(dir: string): Promise<void> {
    const { planner, infiller, infillerPrompts } = this.layout();
    const assign = (file: string, tensors: Map<string, SafetensorsTensor>, names: Map<string, string>) => {
      const missing = [...names.keys()].filter((n) => !tensors.has(n));
      const unexpected = [...tensors.keys()].filter((n) => !names.has(n));
      if (missing.length > 0 || unexpected.length > 0) {
        throw new Error(`GapRelm.loadWeights: ${file} does not match the model` + (missing.length ? `; missing: ${missing.slice(0, 6).join(', ')}` : '') + (unexpected.length ? `; unexpected: ${unexpected.slice(0, 6).join(', ')}` : ''));
      }
      for (const [ckpt, name] of names) {
        const t = tensors.get(ckpt) as SafetensorsTensor;
        const v = this.store.get(name);
        if (!tf.util.arraysEqual(t.shape, v.shape)) throw new RangeError(`GapRelm.loadWeights: ${file}: ${ckpt} has shape [${t.shape}], the model has [${v.shape}]`);
        tf.tidy(() => v.assign(tf.tensor(safetensorsToFloat32(t, ckpt), v.shape, 'float32')));
      }
    };
    const plannerFile = join(dir, 'planner', 'model.safetensors');
    assign(plannerFile, (await readSafetensors(plannerFile)).tensors, planner);
    const { model } = await loadBertForMaskedLM(join(dir, 'infiller'));
    try {
      const tensors = new Map<string, SafetensorsTensor>();
      for (const name of model.params.names()) tensors.set(name, { dtype: 'F32', shape: model.params.shape(name), data: await model.params.toFloat32(name) });
      assign(join(dir, 'infiller', 'model.safetensors'), tensors, infiller);
    } finally {
      model.dispose();
    }
    if (infillerPrompts.size > 0) {
      const file = join(dir, 'infiller', 'prompt_encoder.safetensors');
      assign(file, (await readSafetensors(file)).tensors, infillerPrompts);
    }
  }

  dispose(): void {
    this.store.dispose();
  }
}
