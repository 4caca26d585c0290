import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ONNX_IMPORT_FILE, PRETRAINED_MODELS, importBertOnnxToDirectory } from '@proj/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundled } from '../bundled-data';
import { cli } from '../cli-harness';

// The tiny feature-extraction ONNX export of @proj/models' fixtures (unnamed MatMul weights, no MLM head).
const FEATURES = fileURLToPath(new URL('../../../../packages/models/test/fixtures/tiny-bert-feature-extraction/', import.meta.url));

let tmp: string;
const saved = { PATH: process.env.PATH, HF_ENDPOINT: process.env.HF_ENDPOINT, XDG_CACHE_HOME: process.env.XDG_CACHE_HOME };
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'gap-relm-pretrained-'));
  // No hub endpoint and no mvn: nothing here may reach the network; the cache is the test's.
  await mkdir(join(tmp, 'empty-bin'));
  process.env.PATH = join(tmp, 'empty-bin');
  delete process.env.HF_ENDPOINT;
  process.env.XDG_CACHE_HOME = join(tmp, 'xdg');
});
afterAll(async () => {
  for (const [key, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  await rm(tmp, { recursive: true, force: true });
});

describe('gap-relm pretrained fetch', () => {
  it('offline with no source: one error line saying how to provide the files, exit 2', async () => {
    const { code, stdout, stderr } = await cli('pretrained', 'fetch', 'bge-small-zh', '--cache-dir', join(tmp, 'none'));
    expect(code).toBe(2);
    expect(stdout).toBe('');
    const errors = stderr.split('\n').filter((l) => l.startsWith('gap-relm:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('from: not given; hub: HF_ENDPOINT is not set; maven: mvn is not on PATH');
    expect(errors[0]).toContain('Give the files with --from');
  });

  it('--from files with the wrong sha256 are refused (exit 2); an unknown name is exit 2', async () => {
    const { code, stderr } = await cli('pretrained', 'fetch', 'bge-small-zh', '--from', FEATURES, '--cache-dir', join(tmp, 'wrong'));
    expect(code).toBe(2);
    expect(stderr).toMatch(/from: .*model\.onnx has sha256 47bce371\w+, expected 69a0b846\w+/);
    const unknown = await cli('pretrained', 'fetch', 'bert-huge', '--cache-dir', join(tmp, 'wrong'));
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown model "bert-huge" (known: bge-small-zh)');
  });

  it('a complete cached copy is used as it is; stdout is the JSON result', async () => {
    // A cache laid out as fetch leaves it, with the tiny import standing in for bge's.
    const cacheDir = join(tmp, 'prepared');
    const hf = join(cacheDir, 'pretrained', 'bge-small-zh', 'hf');
    await importBertOnnxToDirectory(join(FEATURES, 'model.onnx'), hf, { tokenizerJson: join(FEATURES, 'tokenizer.json') });
    const record = JSON.parse(await readFile(join(hf, ONNX_IMPORT_FILE), 'utf8'));
    await writeFile(join(hf, ONNX_IMPORT_FILE), JSON.stringify({ ...record, sha256: PRETRAINED_MODELS['bge-small-zh'].onnx.sha256 }));
    const { code, stdout, stderr } = await cli('pretrained', 'fetch', 'bge-small-zh', '--cache-dir', cacheDir);
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ name: 'bge-small-zh', dir: hf, source: 'cache' });
  });
});

describe('gap-relm train --init-from an ONNX export', () => {
  it('imports the export into the cache and trains from it with its WordPiece vocabulary', async () => {
    const run = join(tmp, 'run');
    const clean = join(tmp, 'clean.txt');
    await writeFile(clean, (await readFile(bundled.corpus, 'utf8')).split('\n').slice(0, 60).join('\n'));
    const onnxDir = join(tmp, 'export');
    await mkdir(join(onnxDir, 'onnx'), { recursive: true });
    // The Xenova layout: onnx/model.onnx with tokenizer.json one folder up.
    await copyFile(join(FEATURES, 'model.onnx'), join(onnxDir, 'onnx', 'model.onnx'));
    await copyFile(join(FEATURES, 'tokenizer.json'), join(onnxDir, 'tokenizer.json'));
    const { code, stdout, stderr } = await cli(
      'train', '--init-from', onnxDir, '--clean-file', clean, '--output-dir', run, '--dev-samples', '8', '--dev-eval-limit', '8',
      '--stage-max-steps', '1,1,1', '--batch-size', '4', '--prompt-length', '2', '--max-length', '20', '--backend', 'cpu', '--no-progress',
    );
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(/--init-from .*export: ONNX export imported to .*xdg\/proj-toolkit\/imported\/47bce3716949b242/);
    expect(stderr).toContain('2 × BERT (2 layers, hidden 32, 4 heads, ffn 64, vocab 200');
    expect(JSON.parse(stdout).stages.map((s: { steps: number }) => s.steps)).toEqual([1, 1, 1]);
    const vocab = await readFile(join(run, 'final', 'vocab.txt'), 'utf8');
    expect(vocab).toBe(await readFile(join(tmp, 'xdg', 'proj-toolkit', 'imported', '47bce3716949b242', 'vocab.txt'), 'utf8'));
  }, 120_000);

  it('--init-from bge-small-zh offline and not cached: one line naming the fetch command, exit 2, no run directory', async () => {
    const run = join(tmp, 'run-offline');
    const { code, stderr } = await cli('train', '--init-from', 'bge-small-zh', '--output-dir', run, '--backend', 'cpu');
    expect(code).toBe(2);
    expect(stderr).toMatch(/^gap-relm: --init-from bge-small-zh: fetchPretrained: bge-small-zh is not in the cache .*; with local files run `gap-relm pretrained fetch bge-small-zh --from PATH` first\n$/);
    await expect(readFile(join(run, 'data', 'dev.jsonl'))).rejects.toThrow();
  });

  it('a path that is neither a name, an HF directory nor an export: one line, exit 2', async () => {
    const { code, stderr } = await cli('train', '--init-from', join(tmp, 'missing'), '--clean-file', 'x.txt', '--output-dir', join(tmp, 'run2'), '--backend', 'cpu');
    expect(code).toBe(2);
    expect(stderr).toMatch(/^gap-relm: --init-from: resolvePretrained: ".*missing" is not a known pretrained name \(bge-small-zh\) and no such file or directory exists\n$/);
  });
});
