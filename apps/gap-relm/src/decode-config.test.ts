import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { cli } from './cli-harness';
import { decodeConfigFrom } from './decode-config';
import { addCorrectorOptions } from './load-corrector';

async function parsed(argv: string[], thresholds?: string) {
  const command = new Command('t').exitOverride();
  addCorrectorOptions(command, 'tfjs');
  command.parse(argv, { from: 'user' });
  return decodeConfigFrom(command, thresholds);
}

describe('decodeConfigFrom', () => {
  it('--decode-batch-size sets the decoding batchSize (not an unknown "decodeBatchSize" key)', async () => {
    expect(await parsed(['--decode-batch-size', '8', '--delete-threshold', '0.4'])).toEqual({ batchSize: 8, deleteThreshold: 0.4 });
    expect(await parsed([])).toEqual({});
  });

  it.each([
    [['--delete-threshold', '2'], '--delete-threshold must be in [0, 1], got 2'],
    [['--refinement-rounds', '-1'], '--refinement-rounds must be an integer >= 0, got -1'],
    [['--decode-batch-size', '0'], '--decode-batch-size must be an integer >= 1, got 0'],
  ])('%j is refused at start-up in flag terms', async (argv, message) => {
    await expect(parsed(argv)).rejects.toThrow(message);
  });

  it('a thresholds file with wrong types names the file and the field', async () => {
    const file = join(await mkdtemp(join(tmpdir(), 'gap-relm-decode-')), 'thresholds.json');
    await writeFile(file, JSON.stringify({ bestConfig: { deleteThreshold: '0.5', insertThreshold: 0.5, replaceThreshold: 0.5 } }));
    await expect(parsed([], file)).rejects.toThrow(`--thresholds: ${file}: bestConfig: deleteThreshold must be in [0, 1], got 0.5`);
    await writeFile(file, 'null');
    await expect(parsed([], file)).rejects.toThrow(`--thresholds: ${file}: no "bestConfig" object`);
  });
});

describe('decoding flags on the command line', () => {
  it.each(['predict', 'tune', 'serve'])('%s: a bad decoding value is one line and exit code 2 before any model is loaded', async (command) => {
    const args = command === 'tune' ? ['--dev', '/nonexistent/dev.tsv'] : command === 'predict' ? ['--text', '他门来了'] : ['--port', '0'];
    const { code, stderr } = await cli(command, '--model', '/nonexistent/model', ...args, '--decode-batch-size', '0');
    expect(code).toBe(2);
    expect(stderr).toBe('gap-relm: decoding: --decode-batch-size must be an integer >= 1, got 0\n');
  });
});
