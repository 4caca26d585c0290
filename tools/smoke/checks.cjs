// The consumer checks, written once. consumer.mjs hands in the packages loaded with `import`,
// consumer.cjs the same packages loaded with `require()` (the CJS builds resolve their worker
// scripts and wasm binaries by their own paths), so both module systems run every check.
'use strict';
const assert = require('node:assert/strict');
const { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { tmpdir } = require('node:os');
const { dirname, join } = require('node:path');

/**
 * `pkgs`: the public modules { core, dataSynth, align, metrics, models }; `kind`: 'esm' | 'cjs';
 * `keepModelAt`: if given, the tiny saved Gap-ReLM is copied there (without its onnx/) for run.sh
 * to run through the gap-relm binary.
 */
async function runChecks(pkgs, kind, keepModelAt) {
  const { Rng } = pkgs.core;
  const { ConfusionSet, ErrorGenerator, synthesizeFile } = pkgs.dataSynth;
  const { buildExample } = pkgs.align;
  const { corpusBleu, cscMetrics } = pkgs.metrics;
  const { BertTokenizer, GapRelm, OnnxGapRelm, buildCharVocab, exportGapRelmOnnx, initBackend } = pkgs.models;
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
    if (keepModelAt !== undefined) cpSync(dir, keepModelAt, { recursive: true });
    const loaded = await GapRelm.load(dir);
    ok('GapRelm.create + save + GapRelm.load');
    const sentence = '我们今天去公园散布。';
    const [c] = await loaded.correct([sentence]);
    assert.equal(typeof c.corrected, 'string', 'GapRelm.correct: no corrected text');
    ok(`GapRelm.correct (untrained: ${c.corrected})`);
    model.dispose();
    loaded.dispose();

    // ONNX on onnxruntime-node, as @proj/models resolves it. The install skipped its postinstall
    // (ONNXRUNTIME_NODE_INSTALL=skip: no CUDA download), so the CPU binding that ships in its
    // tarball must load, and asking for ['cuda', 'cpu'] must fall back to cpu and say why.
    const ortDir = dirname(createRequire(require.resolve('@proj/models')).resolve('onnxruntime-node/package.json'));
    const ortVersion = JSON.parse(readFileSync(join(ortDir, 'package.json'), 'utf8')).version;
    const bindingDir = join(ortDir, 'bin', 'napi-v6', process.platform, process.arch);
    assert.ok(existsSync(join(bindingDir, 'onnxruntime_binding.node')), `onnxruntime-node ${ortVersion}: no CPU binding in ${bindingDir}`);
    assert.ok(!existsSync(join(bindingDir, 'libonnxruntime_providers_cuda.so')), `onnxruntime-node ${ortVersion}: the CUDA provider was downloaded although ONNXRUNTIME_NODE_INSTALL=skip`);
    const onnxDir = await exportGapRelmOnnx(dir);
    for (const file of ['planner.onnx', 'infiller.onnx']) assert.ok(existsSync(join(onnxDir, file)), `exportGapRelmOnnx: no ${file} in ${onnxDir}`);
    ok(`exportGapRelmOnnx (${onnxDir.slice(work.length + 1)}/planner.onnx, infiller.onnx)`);
    const lines = [];
    const onnx = await OnnxGapRelm.load(dir, { executionProviders: ['cuda', 'cpu'], log: (line) => lines.push(line) });
    try {
      assert.equal(onnx.provider, 'cpu', `OnnxGapRelm.load: runs on ${onnx.provider}, expected cpu (log: ${lines.join(' | ')})`);
      const fallback = lines.find((line) => /provider cuda (not installed \(.+\); using cpu|failed \(.+\); trying cpu)/.test(line));
      assert.ok(fallback !== undefined, `OnnxGapRelm.load: no logged fallback from cuda to cpu (log: ${lines.join(' | ')})`);
      ok(`onnxruntime-node ${ortVersion} CPU binding loads; OnnxGapRelm.load ['cuda', 'cpu'] runs on cpu, logged: ${fallback}`);
      const [viaOnnx] = await onnx.correct([sentence]);
      assert.equal(viaOnnx.corrected, c.corrected, `OnnxGapRelm.correct: ${viaOnnx.corrected} differs from the tfjs GapRelm's ${c.corrected}`);
      const decisions = (r) => r.edits.map(({ position, from, to, kind }) => ({ position, from, to, kind }));
      assert.deepEqual(decisions(viaOnnx), decisions(c), 'OnnxGapRelm.correct: edits differ from the tfjs GapRelm');
      ok(`OnnxGapRelm.correct equals GapRelm.correct (${c.edits.length} edits)`);
    } finally {
      await onnx.release();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

module.exports = { runChecks };
