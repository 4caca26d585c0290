// The consumer checks, written once. consumer.mjs hands in the packages loaded with `import`,
// consumer.cjs the same packages loaded with `require()` (the CJS builds resolve their worker
// scripts and wasm binaries by their own paths), so both module systems run every check.
'use strict';
const assert = require('node:assert/strict');
const { mkdtempSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

/** `pkgs`: the public modules { core, dataSynth, align, metrics, models }; `kind`: 'esm' | 'cjs'. */
async function runChecks(pkgs, kind) {
  const { Rng } = pkgs.core;
  const { ConfusionSet, ErrorGenerator, synthesizeFile } = pkgs.dataSynth;
  const { buildExample } = pkgs.align;
  const { corpusBleu, cscMetrics } = pkgs.metrics;
  const { BertTokenizer, GapRelm, buildCharVocab, initBackend } = pkgs.models;
  const ok = (what) => console.log(`ok: [${kind}] ${what}`);
  const work = mkdtempSync(join(tmpdir(), `smoke-${kind}-`));
  try {
    // Confusion sets: the built-in one (pinyin-pro at run time) and one parsed from inline text.
    const defaults = ConfusionSet.default();
    assert.ok(defaults.get('我').length > 0, 'ConfusionSet.default(): no confusions for 我');
    ok(`ConfusionSet.default() (我 → ${defaults.get('我').slice(0, 3).join('')}…)`);
    assert.equal(typeof ConfusionSet.parseSamePinyin, 'function', 'ConfusionSet.parseSamePinyin is not exported');
    const inline = ConfusionSet.parseSamePinyin('#汉字\t同音同调\t同音异调\n的\t嘚\t地\n是\t昰\n', 'inline.txt');
    assert.deepEqual([...inline.get('的')].sort(), ['嘚', '地'].sort(), 'parseSamePinyin: wrong confusions for 的');
    ok('ConfusionSet.parseSamePinyin (inline same_pinyin text)');

    // Synthesis and labelling.
    const target = '我们今天去公园散步。';
    const generator = new ErrorGenerator({ pi_skip: 0, pi_multiply: 0, pi_replace: 1, max_edits_per_sent: 1 }, defaults);
    const corruption = generator.corruptWithType(target, Rng.derive(42, 0));
    assert.equal(corruption.target, target, 'ErrorGenerator: target changed');
    assert.notEqual(corruption.source, target, 'ErrorGenerator: a replace-only corruption left the sentence clean');
    ok(`ErrorGenerator + Rng: ${corruption.source} → ${corruption.target}`);
    const labelled = buildExample(corruption.source, corruption.target);
    assert.ok(labelled.ok, `buildExample rejected the pair: ${labelled.reason}`);
    assert.equal(labelled.edits, 1, `buildExample: expected 1 edit, got ${labelled.edits}`);
    ok('@proj/align buildExample');

    // Metrics.
    const csc = cscMetrics([corruption.source, target], [target, target], [target, target]);
    assert.equal(csc.sentence.correction.f1, 1, `cscMetrics: perfect predictions scored ${JSON.stringify(csc.sentence)}`);
    ok('@proj/metrics cscMetrics');
    const bleu = corpusBleu(['the cat sat on the mat'], [['the cat sat on the mat']]);
    assert.ok(Math.abs(bleu.score - 100) < 1e-9, `corpusBleu: identical text scored ${bleu.score}`);
    ok('@proj/metrics corpusBleu');

    // synthesizeFile in 2 worker threads: the worker entry (dist/synth-worker.js) must ship.
    const clean = join(work, 'clean.txt');
    const sentences = Array.from({ length: 50 }, (_, i) => `${target.slice(0, 9)}第${i}次。`);
    writeFileSync(clean, sentences.join('\n') + '\n');
    const summary = await synthesizeFile({
      cleanFile: clean, outputFile: join(work, 'out.jsonl'), threads: 2, chunkSize: 10, progress: false,
      config: { num_negative: 1, seed: 7 },
    });
    const written = readFileSync(join(work, 'out.jsonl'), 'utf8').trim().split('\n');
    assert.equal(summary.sentences, 50, `synthesizeFile: read ${summary.sentences} sentences, expected 50`);
    assert.equal(written.length, summary.examples, `synthesizeFile: ${written.length} lines but summary says ${summary.examples}`);
    ok(`synthesizeFile, 2 threads (${summary.examples} examples)`);

    // Models on the wasm backend: the .wasm binaries must ship and load.
    const backend = await initBackend({ backend: 'wasm' });
    assert.equal(backend.name, 'wasm', `initBackend: got ${backend.name}`);
    ok(`initBackend wasm (${backend.detail})`);
    const vocab = buildCharVocab([...sentences, '嘚昰我窝']);
    const tokenizer = BertTokenizer.fromVocabText(vocab.toText());
    assert.deepEqual(tokenizer.encode('我们').tokens, ['[CLS]', '我', '们', '[SEP]'], 'BertTokenizer: unexpected tokens for 我们');
    ok(`buildCharVocab + BertTokenizer.fromVocabText (${vocab.size} tokens)`);
    const model = GapRelm.create({
      hidden_size: 32, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 64,
      max_position_embeddings: 64, ptuning: 'none', dropout: 0,
    }, tokenizer, 1);
    const dir = join(work, 'gap-relm');
    await model.save(dir);
    const loaded = await GapRelm.load(dir);
    ok('GapRelm.create + save + GapRelm.load');
    const [c] = await loaded.correct(['我们今天去公园散布。']);
    assert.equal(typeof c.corrected, 'string', 'GapRelm.correct: no corrected text');
    ok(`GapRelm.correct (untrained: ${c.corrected})`);
    model.dispose();
    loaded.dispose();
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

module.exports = { runChecks };
