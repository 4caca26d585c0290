import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BERT_BASE_DEFAULTS, bertConfigToJson, parseBertConfig } from './config';

describe('parseBertConfig', () => {
  it('reads the tiny-bert config.json written by transformers', () => {
    const cfg = parseBertConfig(JSON.parse(readFileSync(join(__dirname, '../../test/fixtures/tiny-bert/config.json'), 'utf8')));
    expect(cfg).toMatchObject({ vocabSize: 200, hiddenSize: 32, numHiddenLayers: 2, numAttentionHeads: 4, intermediateSize: 64, maxPositionEmbeddings: 64, typeVocabSize: 2, layerNormEps: 1e-12, padTokenId: 0, initializerRange: 0.2 });
  });

  it('fills missing fields with bert-base defaults and round-trips through bertConfigToJson', () => {
    const cfg = parseBertConfig({ vocab_size: 21128 });
    expect(cfg).toEqual({ ...BERT_BASE_DEFAULTS, vocabSize: 21128 });
    expect(parseBertConfig(bertConfigToJson(cfg))).toEqual(cfg);
    expect(bertConfigToJson(cfg)).toMatchObject({ model_type: 'bert', architectures: ['BertForMaskedLM'], tie_word_embeddings: true, hidden_size: 768 });
  });

  const bad: [Record<string, unknown>, RegExp][] = [
    [{ hidden_size: '768' }, /cfg\.json: hidden_size must be a positive integer, got "768"/],
    [{ hidden_size: 100, num_attention_heads: 12 }, /cfg\.json: hidden_size must be divisible by num_attention_heads \(12\), got 100/],
    [{ hidden_act: 'relu' }, /cfg\.json: hidden_act must be 'gelu'.*got "relu"/],
    [{ pad_token_id: 5, vocab_size: 5 }, /cfg\.json: pad_token_id must be an id in \[0, 5\), got 5/],
    [{ layer_norm_eps: 0 }, /cfg\.json: layer_norm_eps must be > 0, got 0/],
    [{ hidden_dropout_prob: 1 }, /cfg\.json: hidden_dropout_prob must be in \[0, 1\), got 1/],
    [{ model_type: 'roberta' }, /cfg\.json: model_type must be "bert", got "roberta"/],
  ];
  it.each(bad)('rejects %j naming the file and field', (json, message) => {
    expect(() => parseBertConfig(json, 'cfg.json')).toThrow(message);
  });

  it('rejects a non-object', () => {
    expect(() => parseBertConfig([], 'x/config.json')).toThrow('x/config.json: expected a JSON object');
  });
});
