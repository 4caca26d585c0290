import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliError } from './cli-io';
import { resolveDemoStart } from './demo-start';

// The tiny feature-extraction ONNX export of @proj/models' fixtures: a real export, but not bge-small-zh.
const TINY = fileURLToPath(new URL('../../../packages/models/test/fixtures/tiny-bert-feature-extraction/', import.meta.url));

let tmp: string;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'gap-relm-demo-start-'));
  await mkdir(join(tmp, 'empty-bin'));
  // No hub endpoint, no mvn, an empty cache: nothing here may reach the network.
  env = { PATH: join(tmp, 'empty-bin'), HOME: tmp, XDG_CACHE_HOME: join(tmp, 'xdg') };
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

function io() {
  const stderr = new PassThrough();
  let text = '';
  stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { io: { stdout: new PassThrough(), stderr }, lines: () => text.split('\n').filter(Boolean) };
}

describe('resolveDemoStart', () => {
  it('falls back to from scratch with one line when the pretrained name is reachable nowhere', async () => {
    const { io: cliIo, lines } = io();
    const start = await resolveDemoStart({ initFrom: 'bge-small-zh', env, cacheDir: join(tmp, 'cache'), mvn: null, sharedDir: join(tmp, 'no-shared') }, cliIo);
    expect(start).toEqual({ kind: 'scratch', reason: 'bge-small-zh is not reachable' });
    const fallback = lines().filter((l) => l.startsWith('demo: training from scratch'));
    expect(fallback).toHaveLength(1);
    expect(fallback[0]).toContain('bge-small-zh is not reachable');
    expect(fallback[0]).toContain('HF_ENDPOINT is not set');
  });

  it('tries the shared copy beside the checkout, and falls back when its files are not the published ones', async () => {
    const { io: cliIo, lines } = io();
    const start = await resolveDemoStart({ initFrom: 'bge-small-zh', env, cacheDir: join(tmp, 'cache'), mvn: null, sharedDir: TINY }, cliIo);
    expect(lines()).toContain(`demo: ${TINY} found beside this checkout: --from for bge-small-zh if the cache lacks it`);
    expect(start.kind).toBe('scratch');
  });

  it('starts from an ONNX export given by path (imported into the cache)', async () => {
    const { io: cliIo } = io();
    const start = await resolveDemoStart({ initFrom: TINY, env, cacheDir: join(tmp, 'cache'), mvn: null }, cliIo);
    expect(start.kind).toBe('pretrained');
    if (start.kind === 'pretrained') expect(existsSync(join(start.dir, 'config.json'))).toBe(true);
  });

  it('none means from scratch, without looking anywhere', async () => {
    const { io: cliIo, lines } = io();
    expect(await resolveDemoStart({ initFrom: 'none', env }, cliIo)).toEqual({ kind: 'scratch', reason: '--init-from none' });
    expect(lines()).toEqual([]);
  });

  it('a path that does not exist is the user’s error, not a silent fallback', async () => {
    const { io: cliIo } = io();
    await expect(resolveDemoStart({ initFrom: join(tmp, 'missing-model'), env, mvn: null }, cliIo)).rejects.toThrow(CliError);
  });
});
