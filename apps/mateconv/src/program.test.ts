import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { PackedTokens } from '@proj/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './program';
import { Capture, cli, cliWithInput } from './testing';

let dir: string;
let corpus: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mateconv-'));
  corpus = join(dir, 'corpus.jsonl');
  const lines = ['{"text":"床前明月光"}', '{"text":"疑是地上霜"}', 'not json', '{"body":"举头望明月"}', '{"text":"床前明月光"}', '{"text":"低头思故乡"}'];
  await writeFile(corpus, `${lines.join('\n')}\n`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('mateconv pretrain', () => {
  it('trains the tiny preset on a prepared corpus, writes final/ and resumes from its checkpoint', async () => {
    const lines = readFileSync(fileURLToPath(new URL('../../gap-relm/data/corpus/wiki.zh-cn.txt', import.meta.url)), 'utf8').split('\n');
    await writeFile(join(dir, 'wiki-train.txt'), lines.slice(0, 300).join('\n'));
    await writeFile(join(dir, 'wiki-dev.txt'), lines.slice(300, 360).join('\n'));
    for (const split of ['train', 'dev']) {
      expect((await cli('prepare', '--input', join(dir, `wiki-${split}.txt`), '--output-dir', join(dir, `p-${split}`), '--no-progress')).code).toBe(0);
    }
    const run = join(dir, 'run');
    const args = ['pretrain', '--data', join(dir, 'p-train'), '--dev-data', join(dir, 'p-dev'), '--output-dir', run, '--preset', 'tiny', '--seq-len', '16', '--batch-size', '4', '--warmup-steps', '2', '--lr', '0.01', '--eval-every-steps', '3', '--dev-windows', '8', '--backend', 'wasm'];
    const first = await cli(...args, '--max-steps', '6');
    expect(first.code).toBe(0);
    expect(first.stderr).toMatch(/^backend: wasm/m);
    const summary = JSON.parse(first.stdout) as { stopped: string; global_step: number; final: string; last_dev: { loss: number; perplexity: number } };
    expect(summary).toMatchObject({ stopped: 'completed', global_step: 6, final: join(run, 'final') });
    expect(summary.last_dev.perplexity).toBeCloseTo(Math.exp(summary.last_dev.loss), 3);
    expect(JSON.parse(readFileSync(join(run, 'final', 'config.json'), 'utf8'))).toMatchObject({ model_type: 'llama', vocab_size: 6400, hidden_size: 32 });
    // Resumed from the step-3 checkpoint into another run dir: the same weights at step 6, byte for byte.
    const again = join(dir, 'run-resumed');
    const resumed = await cli(...args.map((a) => (a === run ? again : a)), '--max-steps', '6', '--resume-from', join(run, 'checkpoint-3'));
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout).global_step).toBe(6);
    expect(readFileSync(join(again, 'final', 'model.safetensors')).equals(readFileSync(join(run, 'final', 'model.safetensors')))).toBe(true);
  }, 120_000);

  it('generate continues prompts with the trained model: greedy and seeded sampling repeat, one JSON line per prompt', async () => {
    const model = join(dir, 'run', 'final');
    const args = ['generate', '--model', model, '--prompt', '北京是', '中国的', '--max-new-tokens', '5', '--json', '--backend', 'wasm'];
    const greedy = await cli(...args);
    expect(greedy.code).toBe(0);
    const rows = greedy.stdout.trim().split('\n').map((line) => JSON.parse(line) as { prompt: string; text: string; tokens: number[] });
    expect(rows.map((r) => r.prompt)).toEqual(['北京是', '中国的']);
    for (const r of rows) expect(r.tokens.length).toBeLessThanOrEqual(5);
    expect((await cli(...args)).stdout).toBe(greedy.stdout);
    const sampled = ['--sample', '--temperature', '1', '--top-p', '0.95', '--repetition-penalty', '1.2', '--seed', '7'];
    expect((await cli(...args, ...sampled)).stdout).toBe((await cli(...args, ...sampled)).stdout);
    const plain = await cli('generate', '--model', model, '--prompt', '北京是', '--max-new-tokens', '3', '--backend', 'wasm');
    expect(plain.stdout.startsWith('北京是')).toBe(true);
  }, 60_000);

  it('generate --stream prints what it prints without, in pieces; --stop cuts the text before the first stop string', async () => {
    const model = join(dir, 'run', 'final');
    const base = ['generate', '--model', model, '--prompt', '北京是', '中国的', '--max-new-tokens', '8', '--backend', 'wasm'];
    for (const sampling of [[], ['--sample', '--top-k', '20', '--min-p', '0.05', '--no-repeat-ngram-size', '2', '--seed', '3']]) {
      const whole = await cli(...base, ...sampling);
      expect(whole.code, whole.stderr).toBe(0);
      const stdout = new Capture();
      expect(await runCli([...base, ...sampling, '--stream'], { stdout, stderr: new Capture() })).toBe(0);
      expect(stdout.text).toBe(whole.stdout);
      expect(whole.stdout.split('\n')[0].length).toBeGreaterThan('北京是'.length + 1);
      // Written as it came: more writes than a prompt and a newline per line.
      expect(stdout.writes.length).toBeGreaterThan(4);
    }
    const json = ['generate', '--model', model, '--prompt', '北京是', '--max-new-tokens', '8', '--json', '--backend', 'wasm'];
    const full = JSON.parse((await cli(...json)).stdout) as { text: string; tokens: number[] };
    const stop = [...full.text].slice(1, 3).join('');
    const stopped = JSON.parse((await cli(...json, '--stop', 'never there', '--stop', stop)).stdout) as { text: string; tokens: number[] };
    expect(stopped.text).toBe(full.text.slice(0, full.text.indexOf(stop)));
    expect(stopped.tokens).toEqual(full.tokens.slice(0, stopped.tokens.length));
  }, 60_000);

  it.each([
    [['generate', '--top-p', '1.5'], '--top-p must be'],
    [['generate', '--temperature', '0'], '--temperature must be'],
    [['generate', '--stop', ''], '--stop must be a non-empty string, got ""'],
    [['generate', '--stream', '--json'], "option '--stream' cannot be used with option '--json'"],
    [['chat', '--top-k', '-1'], '--top-k must be an integer >= 0'],
    [['chat', '--greedy', '--sample'], "option '--greedy' cannot be used with option '--sample'"],
    [['eval', '--repetition-penalty', '0'], '--repetition-penalty must be'],
  ])('%j exits 2 naming the flag', async (args, message) => {
    const { code, stderr } = await cli(...args, '--model', join(dir, 'run', 'final'), '--prompt', 'x');
    expect(code).toBe(2);
    expect(stderr.split('\n')[0]).toContain(message);
  });

  it('chat takes the shared sampling flags: seeded replies repeat, --stop cuts a reply', async () => {
    const chat = (...flags: string[]) => cliWithInput(Readable.from(['你好\n', 'q\n']), 'chat', '--model', join(dir, 'run', 'final'), '--max-new-tokens', '8', '--backend', 'wasm', ...flags);
    const sampled = ['--top-k', '20', '--min-p', '0.05', '--no-repeat-ngram-size', '2', '--seed', '5'];
    const first = await chat(...sampled);
    expect(first.code, first.stderr).toBe(0);
    expect((await chat(...sampled)).stdout).toBe(first.stdout);
    const greedy = (await chat('--greedy')).stdout.split('\n')[0];
    expect([...greedy].length).toBeGreaterThan(2);
    const stop = [...greedy].slice(1, 3).join('');
    expect((await chat('--greedy', '--stop', stop)).stdout).toBe(`${greedy.slice(0, greedy.indexOf(stop))}\n`);
  }, 60_000);

  it('chat answers each line through the chat template, clears the history on clear and leaves on q', async () => {
    const input = Readable.from(['你好\n', 'clear\n', '再见\n', 'q\n', '不会读到\n']);
    const { code, stdout, stderr } = await cliWithInput(input, 'chat', '--model', join(dir, 'run', 'final'), '--max-new-tokens', '4', '--seed', '3', '--backend', 'wasm');
    expect(code).toBe(0);
    expect(stdout.split('\n').length).toBe(3); // two replies, each ended by a newline
    expect(stderr).toContain('chat: history cleared');
    const again = await cliWithInput(Readable.from(['你好\n', '再见\n', 'q\n']), 'chat', '--model', join(dir, 'run', 'final'), '--max-new-tokens', '4', '--seed', '3', '--backend', 'wasm');
    expect(again.stdout.split('\n')[0]).toBe(stdout.split('\n')[0]); // seeded: the first reply repeats
  }, 60_000);

  it('eval reports held-out perplexity and repetition measures of seeded generations', async () => {
    const { code, stdout, stderr } = await cli('eval', '--model', join(dir, 'run', 'final'), '--data', join(dir, 'p-dev'), '--seq-len', '16', '--windows', '8', '--prompt', '北京是', '中国的', '--max-new-tokens', '6', '--sample', '--seed', '5', '--samples', '1', '--backend', 'wasm');
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as { heldout: { loss: number; perplexity: number; windows: number }; repetition: { distinct1: number; promptCopyRate: number; loopRate: number; generations: number }; samples: unknown[] };
    expect(report.heldout.windows).toBe(8);
    expect(report.heldout.perplexity).toBeCloseTo(Math.exp(report.heldout.loss), 3);
    expect(report.heldout.perplexity).toBeLessThan(6400);
    expect(report.repetition.generations).toBe(2);
    expect(report.repetition.distinct1).toBeGreaterThanOrEqual(0);
    expect(report.repetition.distinct1).toBeLessThanOrEqual(1);
    expect(report.samples.length).toBe(1);
    expect(stderr).toMatch(/eval: held-out loss [\d.]+, perplexity [\d.]+ over 8 windows of 16 tokens/);
    const none = await cli('eval', '--model', join(dir, 'run', 'final'));
    expect(none.code).toBe(2);
  }, 60_000);

  it('generate exits 2 with one line on a missing model or no prompt', async () => {
    const missing = await cli('generate', '--model', dir, '--prompt', 'x');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`mateconv: --model: no config.json in ${dir} (a pretrain final/ or checkpoint directory)\n`);
    const none = await cli('generate', '--model', join(dir, 'run', 'final'));
    expect(none.code).toBe(2);
    expect(none.stderr).toBe('mateconv: give --prompt or --prompts-file\n');
  });

  it('exits 2 with one line when --data is not a prepared directory', async () => {
    const { code, stderr } = await cli('pretrain', '--data', dir);
    expect(code).toBe(2);
    expect(stderr).toBe(`mateconv: --data: no stats.json in ${dir} (run \`mateconv prepare\` first)\n`);
  });
});

describe('mateconv prepare', () => {
  it('packs a JSONL corpus with the bundled tokenizer: JSON result on stdout, rejects with file:line on stderr', async () => {
    const out = join(dir, 'packed');
    const { code, stdout, stderr } = await cli('prepare', '--input', corpus, '--output-dir', out, '--threads', '0', '--no-progress');
    expect(code).toBe(0);
    const result = JSON.parse(stdout) as { outcome: string; stats: { documents: number; duplicates: number; rejects: Record<string, number> } };
    expect(result.outcome).toBe('prepared');
    expect(result.stats.documents).toBe(3);
    expect(result.stats.duplicates).toBe(1);
    expect(result.stats.rejects).toEqual({ bad_json: 1, missing_field: 1 });
    expect(stderr).toContain(`skipped ${corpus}:3: bad_json`);
    expect(stderr).toContain(`skipped ${corpus}:4: missing_field: no field "text"`);
    const packed = await PackedTokens.open(out);
    expect(packed.numDocuments).toBe(3);
    await packed.close();
    // The same run again: nothing to do; --field body makes it another corpus, refused in one line.
    expect(JSON.parse((await cli('prepare', '--input', corpus, '--output-dir', out, '--threads', '0', '--no-progress')).stdout).outcome).toBe('already-done');
    const other = await cli('prepare', '--input', corpus, '--output-dir', out, '--field', 'body', '--threads', '0', '--no-progress');
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/\nmateconv: .*already holds a corpus prepared from other inputs or options; use a new directory or --fresh\n$/);
    const fresh = await cli('prepare', '--input', corpus, '--output-dir', out, '--field', 'body', '--fresh', '--threads', '0', '--no-progress');
    expect(JSON.parse(fresh.stdout).stats.documents).toBe(1);
    expect(readFileSync(join(out, 'stats.json'), 'utf8')).toContain('"field": "body"');
  });

  it('exits 2 with one line on a missing file or a bad flag', async () => {
    const missing = await cli('prepare', '--input', join(dir, 'nope.jsonl'), '--output-dir', join(dir, 'x'));
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`mateconv: --input: file not found: ${join(dir, 'nope.jsonl')}\n`);
    const badThreads = await cli('prepare', '--input', corpus, '--output-dir', join(dir, 'x'), '--threads', '-1');
    expect(badThreads.code).toBe(2);
    expect(badThreads.stderr).toContain('--threads must be an integer >= 0, got "-1"');
    // Number('') is 0, a valid thread count: a blank value must still be refused.
    const blankThreads = await cli('prepare', '--input', corpus, '--output-dir', join(dir, 'x'), '--threads', '');
    expect(blankThreads.code).toBe(2);
    expect(blankThreads.stderr).toContain('--threads must be an integer >= 0, got ""');
    const badTokenizer = await cli('prepare', '--input', corpus, '--output-dir', join(dir, 'x'), '--tokenizer', dir);
    expect(badTokenizer.code).toBe(2);
    expect(badTokenizer.stderr).toBe(`mateconv: --tokenizer: no tokenizer.json in ${dir}\n`);
  });

  it('lists its commands in --help', async () => {
    const { code, stdout } = await cli('--help');
    expect(code).toBe(0);
    expect(stdout).toContain('prepare');
  });
});
