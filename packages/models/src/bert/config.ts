/**
 * BERT hyper-parameters as in a Hugging Face `config.json` (field names in camelCase here; the
 * JSON keeps HF's snake_case). Defaults are bert-base's, as in `transformers.BertConfig`.
 */
export interface BertConfig {
  vocabSize: number; // vocab_size: 30522 in bert-base-uncased, 21128 in bert-base-chinese
  hiddenSize: number; // hidden_size: 768
  numHiddenLayers: number; // num_hidden_layers: 12
  numAttentionHeads: number; // num_attention_heads: 12 (must divide hidden_size)
  intermediateSize: number; // intermediate_size: 3072 (feed-forward width)
  hiddenAct: 'gelu'; // hidden_act: only the exact (erf) GELU BERT uses is supported
  maxPositionEmbeddings: number; // max_position_embeddings: 512 (longest input)
  typeVocabSize: number; // type_vocab_size: 2 (sentence A/B)
  layerNormEps: number; // layer_norm_eps: 1e-12
  padTokenId: number; // pad_token_id: 0
  initializerRange: number; // initializer_range: 0.02 (std of the normal init)
  hiddenDropoutProb: number; // hidden_dropout_prob: 0.1 (training only)
  attentionProbsDropoutProb: number; // attention_probs_dropout_prob: 0.1 (training only)
}

export const BERT_BASE_DEFAULTS: BertConfig = {
  vocabSize: 30522,
  hiddenSize: 768,
  numHiddenLayers: 12,
  numAttentionHeads: 12,
  intermediateSize: 3072,
  hiddenAct: 'gelu',
  maxPositionEmbeddings: 512,
  typeVocabSize: 2,
  layerNormEps: 1e-12,
  padTokenId: 0,
  initializerRange: 0.02,
  hiddenDropoutProb: 0.1,
  attentionProbsDropoutProb: 0.1,
};

const JSON_KEYS: Record<keyof BertConfig, string> = {
  vocabSize: 'vocab_size',
  hiddenSize: 'hidden_size',
  numHiddenLayers: 'num_hidden_layers',
  numAttentionHeads: 'num_attention_heads',
  intermediateSize: 'intermediate_size',
  hiddenAct: 'hidden_act',
  maxPositionEmbeddings: 'max_position_embeddings',
  typeVocabSize: 'type_vocab_size',
  layerNormEps: 'layer_norm_eps',
  padTokenId: 'pad_token_id',
  initializerRange: 'initializer_range',
  hiddenDropoutProb: 'hidden_dropout_prob',
  attentionProbsDropoutProb: 'attention_probs_dropout_prob',
};

const POSITIVE_INTS: (keyof BertConfig)[] = ['vocabSize', 'hiddenSize', 'numHiddenLayers', 'numAttentionHeads', 'intermediateSize', 'maxPositionEmbeddings', 'typeVocabSize'];

/**
 * Validates a config (partial fields take bert-base defaults). `source` names the file in errors:
 * `config.json: hidden_size must be a positive integer, got "768"`.
 */
export function resolveBertConfig(partial: Partial<BertConfig> = {}, source = 'BertConfig'): BertConfig {
  const cfg: BertConfig = { ...BERT_BASE_DEFAULTS, ...partial };
  const fail = (key: keyof BertConfig, what: string): never => {
    throw new RangeError(`${source}: ${JSON_KEYS[key]} ${what}, got ${JSON.stringify(cfg[key])}`);
  };
  for (const key of POSITIVE_INTS) if (!Number.isInteger(cfg[key]) || (cfg[key] as number) < 1) fail(key, 'must be a positive integer');
  if (cfg.hiddenSize % cfg.numAttentionHeads !== 0) fail('hiddenSize', `must be divisible by num_attention_heads (${cfg.numAttentionHeads})`);
  if (cfg.hiddenAct !== 'gelu') fail('hiddenAct', "must be 'gelu' (the exact erf GELU; others are not implemented)");
  if (!(cfg.layerNormEps > 0)) fail('layerNormEps', 'must be > 0');
  if (!Number.isInteger(cfg.padTokenId) || cfg.padTokenId < 0 || cfg.padTokenId >= cfg.vocabSize) fail('padTokenId', `must be an id in [0, ${cfg.vocabSize})`);
  if (!(cfg.initializerRange > 0)) fail('initializerRange', 'must be > 0');
  for (const key of ['hiddenDropoutProb', 'attentionProbsDropoutProb'] as const) if (!(cfg[key] >= 0 && cfg[key] < 1)) fail(key, 'must be in [0, 1)');
  return cfg;
}

/** Parses a Hugging Face BERT `config.json` object; unknown fields are ignored, missing ones take defaults. */
export function parseBertConfig(json: unknown, source = 'config.json'): BertConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new TypeError(`${source}: expected a JSON object`);
  const obj = json as Record<string, unknown>;
  if (obj.model_type !== undefined && obj.model_type !== 'bert') {
    throw new RangeError(`${source}: model_type must be "bert", got ${JSON.stringify(obj.model_type)}`);
  }
  const partial: Record<string, unknown> = {};
  for (const [key, jsonKey] of Object.entries(JSON_KEYS)) if (obj[jsonKey] !== undefined && obj[jsonKey] !== null) partial[key] = obj[jsonKey];
  return resolveBertConfig(partial as Partial<BertConfig>, source);
}

/** The `config.json` Hugging Face transformers loads for a BertForMaskedLM (or BertModel). */
export function bertConfigToJson(cfg: BertConfig, architecture: 'BertForMaskedLM' | 'BertModel' = 'BertForMaskedLM'): Record<string, unknown> {
  const out: Record<string, unknown> = { architectures: [architecture], model_type: 'bert' };
  for (const [key, jsonKey] of Object.entries(JSON_KEYS)) out[jsonKey] = cfg[key as keyof BertConfig];
  // The MLM decoder shares the word embeddings; transformers must tie them on load.
  out.tie_word_embeddings = true;
  out.position_embedding_type = 'absolute';
  return out;
}
