import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CapturedIO, Rng } from '@proj/core';
import { BpeTokenizer, CAUSAL_LM_PRESETS, CausalLm, initBackend, saveCausalLm } from '@proj/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundled } from '../bundled-data';
import { cli } from '../testing';
import { DEFAULT_SERVE_CONFIG, runServe, type MateconvServer } from './serve';

// A random-init tiny model on the bundled minimind tokenizer (the server is under test, not the text).
let dir: string;
let model: string;
let tokenizer: BpeTokenizer;
let onnx: MateconvServer;
let onnxLog: CapturedIO;
const PROMPTS = ['北京是', '中国的首都在哪里？请回答', '床前明月光，疑是'];

const serve = async (engine: 'auto' | 'tfjs', io: CapturedIO, overrides: Partial<typeof DEFAULT_SERVE_CONFIG> = {}) =>
  runServe({ ...DEFAULT_SERVE_CONFIG, port: 0, maxWaitMs: 20, model, tokenizer: bundled.tokenizer, engine, backend: 'wasm', modelName: 'tiny', ...overrides }, io);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mateconv-serve-'));
  await initBackend({ backend: 'wasm' });
  // A wide init, so greedy picks vary from step to step.
  const lm = CausalLm.random({ ...CAUSAL_LM_PRESETS.tiny, vocab_size: 6400, initializer_range: 0.2 }, new Rng(11));
  model = join(dir, 'model');
  await saveCausalLm(lm, model);
  lm.dispose();
  tokenizer = await BpeTokenizer.fromDirectory(bundled.tokenizer);
  onnxLog = new CapturedIO();
  onnx = await serve('auto', onnxLog);
}, 120_000);

afterAll(async () => {
  await onnx?.close();
  await rm(dir, { recursive: true, force: true });
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;
async function post(url: string, path: string, body: unknown): Promise<{ status: number; type: string | null; json: Json; text: string }> {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let json: Json = null;
  try {
    json = JSON.parse(text);
  } catch {
    // a stream, read through `events`
  }
  return { status: res.status, type: res.headers.get('content-type'), json, text };
}

/** The `data:` payloads of a server-sent event stream, in order. */
const events = (text: string) => text.split('\n\n').filter((e) => e !== '').map((e) => {
  expect(e.startsWith('data: ')).toBe(true);
  return e.slice('data: '.length);
});

/** The text of a streamed completion or chat reply (choice 0), its finish reason and usage chunk. */
function reassemble(text: string, chat: boolean): { text: string; finish: string[]; usage: Json; done: boolean } {
  const data = events(text);
  const chunks = data.filter((d) => d !== '[DONE]').map((d) => JSON.parse(d));
  return {
    text: chunks.flatMap((c) => c.choices).map((c: Json) => (chat ? (c.delta.content ?? '') : c.text)).join(''),
    finish: chunks.flatMap((c) => c.choices).map((c: Json) => c.finish_reason).filter((f: string | null) => f !== null),
    usage: chunks.find((c) => c.usage)?.usage,
    done: data.at(-1) === '[DONE]' && data.filter((d) => d === '[DONE]').length === 1,
  };
}

describe('mateconv serve: answers', () => {
  it('says which engine runs; /health, /healthz and /v1/models answer', async () => {
    expect(onnxLog.stderrText).toMatch(/^engine: onnx \(onnxruntime-node/m);
    expect(onnxLog.stderrText).toContain('serve: engine onnx: concurrent prompts share batches of up to 8 (left-padded, KV cache), at most 64 queued; context 128 tokens');
    expect(onnxLog.stderrText.match(/^serve: listening on .*$/gm)).toEqual([`serve: listening on ${onnx.url}`]);
    for (const path of ['/health', '/healthz']) {
      const health = await fetch(`${onnx.url}${path}`);
      expect(await health.json()).toEqual({ status: 'ok', model: 'tiny', engine: 'onnx', context_length: 128, max_batch_rows: 8 });
    }
    const models = await (await fetch(`${onnx.url}/v1/models`)).json();
    expect(models).toMatchObject({ object: 'list', data: [{ id: 'tiny', object: 'model', owned_by: 'mateconv' }] });
  });

  it('POST /v1/completions (greedy) returns what `mateconv generate` writes for the same prompts, with usage', async () => {
    const generated = await cli('generate', '--model', model, '--prompt', ...PROMPTS, '--max-new-tokens', '10', '--json', '--engine', 'onnx', '--backend', 'wasm');
    expect(generated.code, generated.stderr).toBe(0);
    const expected = generated.stdout.trim().split('\n').map((l) => JSON.parse(l) as { text: string; tokens: number[] });
    const answer = await post(onnx.url, '/v1/completions', { model: 'tiny', prompt: PROMPTS, max_tokens: 10, temperature: 0 });
    expect(answer.status).toBe(200);
    expect(answer.type).toBe('application/json; charset=utf-8');
    expect(answer.json).toMatchObject({ object: 'text_completion', model: 'tiny', id: expect.stringMatching(/^cmpl-\d+$/) });
    expect(answer.json.choices.map((c: Json) => c.text)).toEqual(expected.map((e) => e.text));
    expect(answer.json.choices.map((c: Json) => c.index)).toEqual([0, 1, 2]);
    const eos = tokenizer.special.eos!.id;
    expect(answer.json.choices.map((c: Json) => c.finish_reason)).toEqual(expected.map((e) => (e.tokens.at(-1) === eos ? 'stop' : 'length')));
    const promptTokens = (await tokenizer.encodeBatch(PROMPTS, { addSpecialTokens: false })).reduce((n, ids) => n + ids.length + 1, 0);
    const completionTokens = expected.reduce((n, e) => n + e.tokens.length, 0);
    expect(answer.json.usage).toEqual({ prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens });
  });

  it.each([
    { name: 'completions, greedy', path: '/v1/completions', body: { prompt: PROMPTS[1], max_tokens: 12, temperature: 0 } },
    { name: 'completions, seeded sampling', path: '/v1/completions', body: { prompt: PROMPTS[0], max_tokens: 12, temperature: 0.9, top_p: 0.95, top_k: 50, min_p: 0.01, repetition_penalty: 1.2, seed: 7 } },
    { name: 'chat, greedy', path: '/v1/chat/completions', body: { messages: [{ role: 'system', content: '你是助手' }, { role: 'user', content: '你好' }], max_tokens: 12, temperature: 0 } },
    { name: 'chat, seeded sampling', path: '/v1/chat/completions', body: { messages: [{ role: 'user', content: '讲个故事' }], max_completion_tokens: 12, temperature: 1.1, seed: 3, no_repeat_ngram_size: 2 } },
  ])('$name: the streamed chunks reassemble to the answer without stream; data: [DONE] ends it', async ({ path, body }) => {
    const chat = path.includes('chat');
    const plain = await post(onnx.url, path, body);
    expect(plain.status).toBe(200);
    const choice = plain.json.choices[0];
    const text: string = chat ? choice.message.content : choice.text;
    if (chat) expect(choice.message.role).toBe('assistant');
    const streamed = await post(onnx.url, path, { ...body, stream: true, stream_options: { include_usage: true } });
    expect(streamed.status).toBe(200);
    expect(streamed.type).toBe('text/event-stream; charset=utf-8');
    const got = reassemble(streamed.text, chat);
    expect(got).toEqual({ text, finish: [choice.finish_reason], usage: plain.json.usage, done: true });
    expect(events(streamed.text).length).toBeGreaterThan(3); // text arrives in pieces, not at the end
    // The same seed (or greedy) gives the same text again.
    const again = await post(onnx.url, path, body);
    expect(chat ? again.json.choices[0].message.content : again.json.choices[0].text).toBe(text);
    if (chat) {
      const prompt = await tokenizer.encodeChat((body as { messages: { role: 'user'; content: string }[] }).messages, { addGenerationPrompt: true });
      expect(plain.json.usage.prompt_tokens).toBe(prompt.length);
      expect(plain.json.object).toBe('chat.completion');
    }
  });

  it('different seeds give different samples; "stop" ends the text before the stop string, streamed too', async () => {
    const texts = await Promise.all([1, 2, 3].map(async (seed) => (await post(onnx.url, '/v1/completions', { prompt: PROMPTS[0], max_tokens: 16, temperature: 1, seed })).json.choices[0].text));
    expect(new Set(texts).size).toBeGreaterThan(1);
    const full: string = (await post(onnx.url, '/v1/completions', { prompt: PROMPTS[2], max_tokens: 16, temperature: 0 })).json.choices[0].text;
    const stop = [...full].slice(3, 5).join('');
    const cut = full.slice(0, full.indexOf(stop));
    const stopped = await post(onnx.url, '/v1/completions', { prompt: PROMPTS[2], max_tokens: 16, temperature: 0, stop: ['never-there', stop] });
    expect(stopped.json.choices[0]).toMatchObject({ text: cut, finish_reason: 'stop' });
    expect(stopped.json.usage.completion_tokens).toBeLessThan(16);
    const streamed = reassemble((await post(onnx.url, '/v1/completions', { prompt: PROMPTS[2], max_tokens: 16, temperature: 0, stop, stream: true })).text, false);
    expect(streamed).toMatchObject({ text: cut, finish: ['stop'], done: true });
  });

  it('concurrent requests share batches; each gets the answer it gets alone', async () => {
    const bodies = Array.from({ length: 10 }, (_, i) => ({ prompt: `${PROMPTS[i % 3]}${'的'.repeat(i)}`, max_tokens: 4 + (i % 5), temperature: i % 2 ? 0.8 : 0, seed: i, stream: i % 3 === 0 }));
    const read = async (b: (typeof bodies)[number]) => {
      const answer = await post(onnx.url, '/v1/completions', b);
      expect(answer.status).toBe(200);
      return b.stream ? reassemble(answer.text, false).text : answer.json.choices[0].text;
    };
    const alone: string[] = [];
    for (const b of bodies) alone.push(await read(b));
    const before = onnx.metrics();
    const together = await Promise.all(bodies.map(read));
    expect(together).toEqual(alone);
    const after = onnx.metrics();
    expect(after.batches.count - before.batches.count).toBeLessThan(bodies.length);
    expect(Math.max(...Object.keys(after.batches.sizeHistogram).map(Number))).toBeGreaterThan(1);
    expect(after.timeToFirstTokenMs.count - before.timeToFirstTokenMs.count).toBe(bodies.length);
    expect(after.completionTokens).toBeGreaterThan(before.completionTokens);
    expect(after.queueDepth).toBe(0);
  });
});

describe('mateconv serve: malformed requests get a 4xx and a JSON error', () => {
  const ok = { prompt: '你好', max_tokens: 2 };
  it.each([
    { name: 'malformed JSON', body: '{"prompt": ', status: 400, code: 'malformed_json' },
    { name: 'an array body', body: '[1]', status: 400, code: 'invalid_request' },
    { name: 'no prompt', body: { max_tokens: 2 }, status: 400, code: 'invalid_request', message: 'no "prompt" field' },
    { name: 'a number prompt', body: { prompt: 3 }, status: 400, code: 'invalid_request' },
    { name: 'an empty prompt list', body: { prompt: [] }, status: 400, code: 'invalid_request' },
    { name: 'temperature 3', body: { ...ok, temperature: 3 }, status: 400, code: 'invalid_request', message: '"temperature" must be a number in [0, 2], got 3' },
    { name: 'top_p 0', body: { ...ok, top_p: 0 }, status: 400, code: 'invalid_request' },
    { name: 'top_k 1.5', body: { ...ok, top_k: 1.5 }, status: 400, code: 'invalid_request' },
    { name: 'max_tokens 0', body: { ...ok, max_tokens: 0 }, status: 400, code: 'invalid_request' },
    { name: 'max_tokens a string', body: { ...ok, max_tokens: '5' }, status: 400, code: 'invalid_request' },
    { name: 'a prompt too long for the context', body: { prompt: '中'.repeat(200), max_tokens: 8 }, status: 422, code: 'context_length_exceeded' },
    { name: 'max_tokens past the context', body: { ...ok, max_tokens: 127 }, status: 422, code: 'context_length_exceeded' },
    { name: 'n 2', body: { ...ok, n: 2 }, status: 400, code: 'invalid_request' },
    { name: 'frequency_penalty', body: { ...ok, frequency_penalty: 0.5 }, status: 400, code: 'invalid_request', message: 'use "repetition_penalty"' },
    { name: 'five stop strings', body: { ...ok, stop: ['a', 'b', 'c', 'd', 'e'] }, status: 400, code: 'invalid_request' },
    { name: 'an empty stop string', body: { ...ok, stop: '' }, status: 400, code: 'invalid_request' },
    { name: 'stream "yes"', body: { ...ok, stream: 'yes' }, status: 400, code: 'invalid_request' },
    { name: 'a seed 1.5', body: { ...ok, seed: 1.5 }, status: 400, code: 'invalid_request' },
    { name: 'too many prompts', body: { prompt: Array(17).fill('a') }, status: 422, code: 'too_many_prompts' },
    { name: 'a body over the limit', body: { prompt: '中'.repeat(400_000) }, status: 413, code: 'body_too_large' },
    { name: 'chat without messages', path: '/v1/chat/completions', body: { prompt: 'x' }, status: 400, code: 'invalid_request' },
    { name: 'chat with a bad role', path: '/v1/chat/completions', body: { messages: [{ role: 'robot', content: 'x' }] }, status: 400, code: 'invalid_request', message: 'messages[0].role' },
    { name: 'chat with a non-string content', path: '/v1/chat/completions', body: { messages: [{ role: 'user', content: 1 }] }, status: 400, code: 'invalid_request' },
    { name: 'an unknown path', path: '/v2/completions', body: ok, status: 404, code: 'not_found' },
    { name: 'POST on /v1/models', path: '/v1/models', body: ok, status: 405, code: 'method_not_allowed' },
  ])('$name: $status $code, and the server still answers', async ({ path, body, status, code, message }) => {
    const answer = await post(onnx.url, path ?? '/v1/completions', body);
    expect(answer.status).toBe(status);
    expect(answer.json.error.code).toBe(code);
    if (message !== undefined) expect(answer.json.error.message).toContain(message);
    expect(answer.text).not.toMatch(/\n\s+at /); // never a stack trace
    expect((await post(onnx.url, '/v1/completions', ok)).status).toBe(200);
  });

  it('GET on /v1/completions is 405 with an Allow header', async () => {
    const res = await fetch(`${onnx.url}/v1/completions`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect(((await res.json()) as Json).error.code).toBe('method_not_allowed');
  });
});

describe('mateconv serve: clients that leave, a full queue', () => {
  it('a streaming client that leaves mid-answer stops its row; the server counts it aborted and answers on', async () => {
    const before = onnx.metrics();
    await new Promise<void>((resolve, reject) => {
      const req = request(`${onnx.url}/v1/completions`, { method: 'POST', agent: false }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (error) => (error.message === 'socket hang up' ? undefined : reject(error)));
      req.end(JSON.stringify({ prompt: PROMPTS[0], max_tokens: 100, temperature: 0, stream: true }));
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const after = onnx.metrics();
    expect((after.requests.byStatus.aborted ?? 0) - (before.requests.byStatus.aborted ?? 0)).toBe(1);
    expect(after.completionTokens).toBe(before.completionTokens); // the aborted answer is not counted
    expect((await post(onnx.url, '/v1/completions', { prompt: '你好', max_tokens: 2 })).status).toBe(200);
  });

  it('past --max-queue waiting prompts a request gets 429 queue_full; the others are answered', async () => {
    const small = await serve('auto', new CapturedIO(), { maxQueue: 1, maxBatchRows: 1, maxWaitMs: 0 });
    try {
      const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => post(small.url, '/v1/completions', { prompt: PROMPTS[i % 3], max_tokens: 24, temperature: 0 })));
      const statuses = answers.map((a) => a.status);
      expect(statuses).toContain(429);
      expect(statuses.filter((s) => s !== 429).every((s) => s === 200)).toBe(true);
      const refused = answers.find((a) => a.status === 429)!;
      expect(refused.json.error).toMatchObject({ code: 'queue_full', limit: 1 });
    } finally {
      await small.close();
    }
  }, 60_000);
});

describe('mateconv serve: the tfjs engine and the command', () => {
  it('--engine tfjs answers one prompt at a time with the same greedy text', async () => {
    const io = new CapturedIO();
    const tfjs = await serve('tfjs', io);
    try {
      expect(io.stderrText).toContain('serve: engine tfjs: one prompt at a time');
      const body = { prompt: PROMPTS.slice(0, 2), max_tokens: 8, temperature: 0 };
      const [a, b] = await Promise.all([post(tfjs.url, '/v1/completions', body), post(onnx.url, '/v1/completions', body)]);
      expect(a.json.choices.map((c: Json) => c.text)).toEqual(b.json.choices.map((c: Json) => c.text));
      expect(Object.keys(tfjs.metrics().batches.sizeHistogram)).toEqual(['1']);
    } finally {
      await tfjs.close();
    }
  }, 60_000);

  it.each([
    [['--port', '70000'], '--port must be an integer in [0, 65535], got "70000"'],
    [['--max-batch-rows', '0'], '--max-batch-rows must be an integer >= 1, got "0"'],
    [['--engine', 'torch'], "argument 'torch' is invalid"],
  ])('%j is refused with exit code 2', async (flags, message) => {
    const { code, stderr } = await cli('serve', '--model', model, ...flags);
    expect(code).toBe(2);
    expect(stderr).toContain(message);
  });

  it('a missing model directory is one clear error', async () => {
    const { code, stderr } = await cli('serve', '--model', join(dir, 'nope'), '--port', '0');
    expect(code).toBe(2);
    expect(stderr.trim().split('\n').at(-1)).toBe(`mateconv: --model: no config.json in ${join(dir, 'nope')} (a pretrain final/ or checkpoint directory)`);
  });
});
