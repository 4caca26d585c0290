import { existsSync } from 'node:fs';
import { PRETRAINED_MODELS, PretrainedUnavailableError, resolvePretrained, type FetchPretrainedOptions } from '@proj/models';
import { CliError, type CliIO, log } from './cli-io';

/** Where a checkout of this repository next to a `shared` folder finds bge-small-zh without fetching. */
export const SHARED_BGE_DIR = '../shared/models/bge-small-zh-v1.5';

export interface DemoStartOptions {
  /** A pretrained name, an HF BERT directory, an ONNX export, or `none` for from scratch. */
  initFrom: string;
  /** Local files for a pretrained name (as `pretrained fetch --from`); default SHARED_BGE_DIR when it exists. */
  from?: string;
  cacheDir?: string;
  env?: NodeJS.ProcessEnv;
  /** Maven command (tests pass null); default mvn on PATH. */
  mvn?: FetchPretrainedOptions['mvn'];
  /** Looked for when `from` is not given (default SHARED_BGE_DIR). */
  sharedDir?: string;
}

export type DemoStart = { kind: 'pretrained'; spec: string; dir: string } | { kind: 'scratch'; reason: string };

/**
 * The encoder the demo starts from: `initFrom` resolved as `train --init-from` does (cache, --from,
 * the hub at HF_ENDPOINT, Maven), or from scratch — with one line saying why — when the name is
 * reachable nowhere. A path that exists but cannot be read stays an error: the user named it.
 */
export async function resolveDemoStart(options: DemoStartOptions, io: CliIO): Promise<DemoStart> {
  if (options.initFrom === 'none') return { kind: 'scratch', reason: '--init-from none' };
  const known = Object.hasOwn(PRETRAINED_MODELS, options.initFrom);
  const shared = options.sharedDir ?? SHARED_BGE_DIR;
  const from = options.from ?? (known && existsSync(shared) ? shared : undefined);
  if (from !== undefined && options.from === undefined) log(io, `demo: ${from} found beside this checkout: --from for ${options.initFrom} if the cache lacks it`);
  try {
    const { dir } = await resolvePretrained(options.initFrom, { from, cacheDir: options.cacheDir, env: options.env, mvn: options.mvn, log: (line) => log(io, line), progress: io.stderr });
    return { kind: 'pretrained', spec: options.initFrom, dir };
  } catch (error) {
    if (error instanceof PretrainedUnavailableError) {
      const reason = `${options.initFrom} is not reachable`;
      log(io, `demo: training from scratch, because ${reason}: ${error.message.replace(/^fetchPretrained: /, '')}`);
      return { kind: 'scratch', reason };
    }
    if (error instanceof Error && /^(importBertOnnx|resolvePretrained|readZipEntry|BertTokenizer)/.test(error.message)) throw new CliError(`--init-from: ${error.message}`);
    throw error;
  }
}
