/**
 * `generate` as text: each row decoded as its tokens arrive, ended by EOS, `maxNewTokens` or a
 * stop string (the text cut before it), and streamed in certain pieces.
 */
import { streamGenerate, type GenerateOptions } from './generate';
import { eosTokenIds, resolveGenerationConfig, type GenerationConfig } from './generation-config';
import type { CausalLogitsSource } from './logits-source';
import { RowTextStream, type TextFinishReason, type TokenDecoder } from './text-stream';

export interface TextGenerationOptions extends Omit<GenerateOptions, 'stopped'> {
  /** Decodes a row's generated ids (e.g. the tokenizer's decode with special tokens skipped). */
  decode: TokenDecoder;
  /** A row ends as soon as its text contains one of these; its text is cut before the first. */
  stop?: readonly string[];
  /**
   * Streaming: each row's text in pieces as soon as they are certain (a character whose bytes
   * have not all arrived, or a possible start of a stop string, waits). A row's pieces
   * concatenate to its final `text`.
   */
  onText?: (event: { row: number; delta: string }) => void;
  /** Called once per row when it ends, after its last `onText` (rows that run to `maxNewTokens` end together, in order). */
  onEnd?: (event: { row: number; finishReason: TextGeneration['finishReason'] }) => void;
}

export interface TextGeneration {
  /** The continuation: without EOS, cut before a stop string. */
  text: string;
  /** The ids the model generated (an EOS that ended the row included, and the tokens of a stop string). */
  tokens: number[];
  /** 'stop': EOS or a stop string; 'length': `maxNewTokens`. */
  finishReason: Exclude<TextFinishReason, 'cancelled'>;
}

/**
 * Generates after each prompt as `generate` does (same config, same `rng` draws while no stop
 * string ends a row) and returns each row's text. Each row's tokens are decoded as they come when
 * there are stop strings or `onText`, else once at the end.
 */
export async function generateText(
  prompts: readonly (readonly number[])[],
  source: CausalLogitsSource,
  config: Partial<GenerationConfig>,
  options: TextGenerationOptions,
): Promise<TextGeneration[]> {
  const fn = 'generateText';
  if (typeof options?.decode !== 'function') throw new TypeError(`${fn}: options.decode must be a function from token ids to text, got ${String(options?.decode)}`);
  const { decode, stop, onText, onEnd, ...generateOptions } = options;
  const eos = eosTokenIds(resolveGenerationConfig(config, fn));
  const rows = prompts.map(
    (_, row) =>
      new RowTextStream({
        decode,
        stop,
        eosTokenIds: eos,
        onText: onText && ((delta) => onText({ row, delta })),
        onEnd: onEnd && ((reason) => onEnd({ row, finishReason: reason as TextGeneration['finishReason'] })),
      }),
  );
  const stream = streamGenerate(prompts, source, config, { ...generateOptions, stopped: (row) => rows[row].finished !== undefined }, fn);
  for (let next = await stream.next(); !next.done; next = await stream.next()) await rows[next.value.row].accept(next.value.token);
  // Rows still open ran out of maxNewTokens.
  for (const row of rows) await row.end('length');
  return rows.map((row) => ({ text: row.text, tokens: row.tokens, finishReason: row.finished as TextGeneration['finishReason'] }));
}
