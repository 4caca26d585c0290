import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CapturedIO, Rng } from '@proj/core';
import { BertTokenizer, SgddModel, initBackend, saveSgdd } from '@proj/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeAppInfo } from '../encoder';
import { decoderConfig } from '../phase-config';
import { runCli } from '../program';
import { DEFAULT_SERVE_CONFIG, runServe, type SgddServer } from './serve';

// The tiny committed BERT (vocabulary 200: specials and CJK from 一 on) is the frozen encoder; the
// decoder is random (the server is under test, not the paraphrases).
const TINY_BERT = fileURLToPath(new URL('../../../../packages/models/test/fixtures/tiny-bert', import.meta.url));
const TEXTS = ['一丁七万', '三上下不与专', '且世业东丝丢两严', '中丰串'];

let dir: string;
let model: string;
let server: SgddServer;
let serverLog: CapturedIO;

async function cli(...argv: string[]) {
  const io = new CapturedIO();
  const code = await runCli(argv, io);
  return { code, stdout: io.stdoutText, stderr: io.stderrText };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sgdd-serve-'));
  await initBackend({ backend: 'cpu' });
  const tokenizer = await BertTokenizer.fromDirectory(TINY_BERT);
  const special = { vocab_size: tokenizer.vocab.size, pad: tokenizer.padId, cls: tokenizer.clsId, sep: tokenizer.sepId, mask: tokenizer.maskId, vectorSize: 32 };
  const decoder = SgddModel.random(decoderConfig({ hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, dropout: 0, max_length: 16 }, special, 'test'), new Rng(5));
  model = join(dir, 'model');
  await saveSgdd(decoder, model);
  decoder.dispose();
  await writeAppInfo(model, { phase: 'reconstruction', encoder: TINY_BERT, encoder_dir: TINY_BERT });
  serverLog = new CapturedIO();
  server = await runServe({ ...DEFAULT_SERVE_CONFIG, port: 0, maxWaitMs: 20, model, steps: 4, guidance: 2, temperature: 0, seed: 42, engine: 'onnx', backend: 'cpu', batchSize: 32 }, serverLog);
}, 60_000);

afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
async function post(path: string, body: unknown): Promise<{ status: number; json: Json; text: string }> {
  const res = await fetch(`${server.url}${path}`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: JSON.parse(text), text };
}

/** `sgdd sample --json` on the same model: what the server must answer. */
async function sampled(texts: string[], flags: string[]): Promise<string[]> {
  const r = await cli('sample', '--model', model, '--text', ...texts, '--json', ...flags);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { output: string }[]).map((x) => x.output);
}

describe('sgdd serve', () => {
  it('logs the engine and one listening line; /healthz names the model', async () => {
    // The sampler `sample` and `eval` open: no <model>/onnx/decoder.onnx here, so the weights exported in memory.
    expect(serverLog.stderrText).toContain('engine: onnx (onnxruntime-node, cpu provider');
    expect(serverLog.stderrText).toContain('exported from the weights in memory');
    expect(serverLog.stderrText.match(/^serve: listening on .*$/gm)).toEqual([`serve: listening on ${server.url}`]);
    expect(await (await fetch(`${server.url}/healthz`)).json()).toEqual({ status: 'ok', model, engine: 'onnx', phase: 'reconstruction' });
  });

  it.each([
    { name: 'greedy, the server defaults', body: {}, flags: ['--steps', '4'] },
    { name: 'sampled with a seed, 6 steps, guidance 1', body: { steps: 6, guidance: 1, temperature: 1, seed: 9 }, flags: ['--steps', '6', '--guidance', '1', '--temperature', '1', '--seed', '9'] },
  ])('POST /v1/sample ($name) answers what `sgdd sample` writes', async ({ body, flags }) => {
    const expected = await sampled(TEXTS, flags);
    expect(expected.every((t) => t.length > 0)).toBe(true);
    const answer = await post('/v1/sample', { texts: TEXTS, ...body });
    expect(answer.status).toBe(200);
    expect(answer.json.results).toEqual(TEXTS.map((source, i) => ({ source, output: expected[i], truncated: false })));
    expect(answer.json).toMatchObject({ steps: 4, guidance: 2, temperature: 0, seed: 42, ...body });
    const one = await post('/v1/paraphrase', { text: TEXTS[0], ...body });
    expect(one.json.results).toEqual([{ source: TEXTS[0], output: expected[0], truncated: false }]);
  });

  it('concurrent requests with different settings share batches and each gets its own answer', async () => {
    const bodies = Array.from({ length: 8 }, (_, i) => ({ texts: TEXTS.slice(i % 4), temperature: i % 2, seed: i, steps: 2 + (i % 3) }));
    const alone: Json[] = [];
    for (const b of bodies) alone.push((await post('/v1/sample', b)).json);
    const before = server.metrics();
    const together = await Promise.all(bodies.map(async (b) => (await post('/v1/sample', b)).json));
    expect(together).toEqual(alone);
    const after = server.metrics();
    expect(after.batches.count - before.batches.count).toBeLessThan(bodies.length);
    expect(after.textsSampled - before.textsSampled).toBe(bodies.reduce((n, b) => n + b.texts.length, 0));
    expect(after.latencyMs.count - before.latencyMs.count).toBe(bodies.length);
  });

  it("a row's output is fixed by its text, the request's seed and its index: the same request twice, other rows beside it, other requests in its batch", async () => {
    const body = { texts: TEXTS, temperature: 1, seed: 9 };
    const outputs = async (b: object) => ((await post('/v1/sample', b)).json.results as { output: string }[]).map((r) => r.output);
    const first = await outputs(body);
    expect(await outputs(body)).toEqual(first);
    // Rows 0 and 2 with other companions (row 1 changed, row 3 gone) keep their outputs.
    const [a, , c] = await outputs({ ...body, texts: [TEXTS[0], TEXTS[3], TEXTS[2]] });
    expect([a, c]).toEqual([first[0], first[2]]);
    // Sent together with other requests, so that they share decoder calls.
    const crowd = [{ ...body, seed: 1 }, body, { ...body, texts: TEXTS.slice(0, 2) }];
    const before = server.metrics().batches.count;
    const answers = await Promise.all(crowd.map(outputs));
    expect(server.metrics().batches.count - before).toBeLessThan(crowd.length);
    expect(answers[1]).toEqual(first);
    expect(answers[2]).toEqual(first.slice(0, 2));
    // The seed matters, so the equalities above are not those of a seed-free decoder.
    expect(answers[0]).not.toEqual(first);
  });

  it('a text over the model length is truncated and says so', async () => {
    const answer = await post('/v1/sample', { text: '一丁七万丈三上下不与专且世业东丝丢两严' });
    expect(answer.status).toBe(200);
    expect(answer.json.results[0].truncated).toBe(true);
  });

  it.each([
    { name: 'malformed JSON', body: '{"texts": [', status: 400, code: 'malformed_json' },
    { name: 'no text or texts', body: { steps: 4 }, status: 400, code: 'invalid_request' },
    { name: 'both text and texts', body: { text: 'a', texts: ['b'] }, status: 400, code: 'invalid_request' },
    { name: 'a number text', body: { text: 3 }, status: 400, code: 'invalid_request' },
    { name: 'steps 0', body: { text: '一', steps: 0 }, status: 400, code: 'invalid_request', message: '"steps" must be an integer in [1, 1000], got 0' },
    { name: 'guidance -1', body: { text: '一', guidance: -1 }, status: 400, code: 'invalid_request' },
    { name: 'seed "x"', body: { text: '一', seed: 'x' }, status: 400, code: 'invalid_request' },
    { name: 'too many texts', body: { texts: Array(65).fill('一') }, status: 422, code: 'too_many_texts' },
    { name: 'a text too long', body: { text: '一'.repeat(513) }, status: 422, code: 'text_too_long' },
    { name: 'GET /v1/sample', method: 'GET', status: 405, code: 'method_not_allowed' },
    { name: 'an unknown path', path: '/v1/nope', body: {}, status: 404, code: 'not_found' },
  ])('$name: $status $code, and the server still answers', async ({ path, method, body, status, code, message }) => {
    const res = await fetch(`${server.url}${path ?? '/v1/sample'}`, { method: method ?? 'POST', body: method === 'GET' ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    const json = (await res.json()) as Json;
    expect(res.status).toBe(status);
    expect(json.error.code).toBe(code);
    if (message !== undefined) expect(json.error.message).toBe(message);
    expect((await post('/v1/sample', { text: TEXTS[0] })).status).toBe(200);
  });

  it('bad flags and a missing model are one error line, exit code 2', async () => {
    expect((await cli('serve', '--model', model, '--port', '70000')).stderr).toContain('--port must be an integer in [0, 65535], got "70000"');
    // --port 70000 after it: were 1.5 accepted, the command would still stop instead of serving.
    const fraction = await cli('serve', '--model', model, '--max-texts', '1.5', '--port', '70000');
    expect(fraction.code).toBe(2);
    expect(fraction.stderr).toContain('--max-texts must be an integer >= 1, got "1.5"');
    const missing = await cli('serve', '--model', join(dir, 'nope'), '--port', '0');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('is not an SGDD model directory');
  });
});
