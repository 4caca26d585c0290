import { ApiError, JsonFields, typeName, type Rng } from '@proj/core';
import type { ChatMessage } from '@proj/models';
import type { RowSampling } from './serve-batch';

/** Request limits and defaults (flags of `mateconv serve`). */
export interface RequestSettings {
  /** `max_tokens` when a request has none. */
  defaultMaxTokens: number;
  /** Prompt tokens + max_tokens of one row must fit in this (422 context_length_exceeded). */
  contextLength: number;
  /** Most prompts in one /v1/completions request (`prompt` as an array). */
  maxPrompts: number;
}

/** A parsed POST /v1/completions or /v1/chat/completions body. */
export interface CompletionRequest {
  /** Completions: the prompt texts (one choice each). Chat: absent. */
  prompts?: string[];
  /** Chat: the conversation, rendered through the tokenizer's chat template. */
  messages?: ChatMessage[];
  /** `max_tokens` as given; the default is applied with the prompt's length known. */
  maxTokens: number | undefined;
  sampling: Omit<RowSampling, 'maxTokens'>;
  stream: boolean;
  /** `stream_options.include_usage`: a last chunk with the usage and no choices. */
  includeUsage: boolean;
}

const invalid = (message: string) => new ApiError(400, 'invalid_request', message);
const ROLES = new Set(['system', 'user', 'assistant']);

function parseMessages(value: unknown): ChatMessage[] {
  if (!Array.isArray(value) || value.length === 0) throw invalid(`"messages" must be a non-empty array of {"role", "content"}, got ${value === undefined ? 'no "messages" field' : typeName(value)}`);
  return value.map((m: unknown, i) => {
    if (typeof m !== 'object' || m === null || Array.isArray(m)) throw invalid(`messages[${i}] must be an object {"role", "content"}, got ${typeName(m)}`);
    const { role, content } = m as { role?: unknown; content?: unknown };
    if (typeof role !== 'string' || !ROLES.has(role)) throw invalid(`messages[${i}].role must be "system", "user" or "assistant", got ${JSON.stringify(role)}`);
    if (typeof content !== 'string') throw invalid(`messages[${i}].content must be a string, got ${typeName(content)}`);
    return { role, content } as ChatMessage;
  });
}

function stopStrings(f: JsonFields): string[] {
  const stop = f.strings('stop', 4) ?? [];
  if (stop.includes('')) throw invalid('"stop" strings must not be empty');
  return stop;
}

/**
 * Reads the OpenAI fields of a completions (`chat` false: `prompt`) or chat completions (`chat`
 * true: `messages`) body; other fields are ignored. `temperature` 0 is greedy; a sampled request
 * without `seed` gets one from `serverRng`. `frequency_penalty` / `presence_penalty` other than 0
 * and `n` other than 1 are refused (the sampler has CTRL's `repetition_penalty` and one choice per prompt).
 */
export function parseCompletionRequest(body: Record<string, unknown>, chat: boolean, settings: RequestSettings, serverRng: Rng): CompletionRequest {
  const f = new JsonFields(body);
  let prompts: string[] | undefined;
  let messages: ChatMessage[] | undefined;
  if (chat) messages = parseMessages(body.messages);
  else {
    if (!f.has('prompt')) throw invalid('"prompt" must be a string or an array of strings, got no "prompt" field');
    prompts = f.strings('prompt');
    if (prompts!.length === 0) throw invalid('"prompt" must hold at least one string');
    if (prompts!.length > settings.maxPrompts) {
      throw new ApiError(422, 'too_many_prompts', `the request has ${prompts!.length} prompts; the limit is ${settings.maxPrompts} (--max-prompts)`, { limit: settings.maxPrompts, value: prompts!.length });
    }
  }
  f.string('model'); // any name is served by the one model (GET /v1/models names it)
  const n = f.number('n', { integer: true, min: 1 });
  if (n !== undefined && n !== 1) throw invalid(`"n" must be 1 (one choice per prompt), got ${n}`);
  for (const name of ['frequency_penalty', 'presence_penalty']) {
    const value = f.number(name, { min: -2, max: 2 });
    if (value !== undefined && value !== 0) throw invalid(`"${name}" is not supported (use "repetition_penalty", e.g. 1.2), got ${value}`);
  }
  const maxTokens = f.number(chat && f.has('max_completion_tokens') ? 'max_completion_tokens' : 'max_tokens', { integer: true, min: 1, max: settings.contextLength });
  const temperature = f.number('temperature', { min: 0, max: 2 }) ?? 1;
  const seed = f.number('seed', { integer: true }) ?? serverRng.int(2 ** 31);
  const streamOptions = body.stream_options;
  if (streamOptions !== undefined && streamOptions !== null && (typeof streamOptions !== 'object' || Array.isArray(streamOptions))) throw invalid(`"stream_options" must be an object, got ${typeName(streamOptions)}`);
  return {
    prompts,
    messages,
    maxTokens,
    sampling: {
      doSample: temperature > 0,
      temperature: temperature > 0 ? temperature : 1,
      topP: f.number('top_p', { min: 0, max: 1, exclusiveMin: true }) ?? 1,
      topK: f.number('top_k', { integer: true, min: 0 }) ?? 0,
      minP: f.number('min_p', { min: 0, max: 1 }) ?? 0,
      repetitionPenalty: f.number('repetition_penalty', { min: 0, exclusiveMin: true, max: 10 }) ?? 1,
      noRepeatNgramSize: f.number('no_repeat_ngram_size', { integer: true, min: 0 }) ?? 0,
      seed,
      stop: stopStrings(f),
    },
    stream: f.boolean('stream') ?? false,
    includeUsage: streamOptions ? (new JsonFields(streamOptions as Record<string, unknown>).boolean('include_usage') ?? false) : false,
  };
}
