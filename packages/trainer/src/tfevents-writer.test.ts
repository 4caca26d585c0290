import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectedScalars, TFEVENTS_SCALARS, writeSpecEvents } from '../test/tfevents-spec';
import { crc32c, encodeEvent, frameRecord, maskedCrc32c, TfEventsWriter } from './tfevents-writer';

const FIXTURE_DIR = new URL('../test/fixtures/tfevents/', import.meta.url);
const FIXTURE_FILE = 'events.out.tfevents.1700000000.fixture-host';
const tmp = mkdtempSync(join(tmpdir(), 'trainer-tfevents-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('CRC32C and TFRecord framing', () => {
  it.each([
    ['', 0x00000000],
    ['a', 0xc1d04330],
    ['123456789', 0xe3069283], // the CRC-32C check value
    ['The quick brown fox jumps over the lazy dog', 0x22620404],
  ])('crc32c(%j) = %i', (text, expected) => {
    expect(crc32c(new TextEncoder().encode(text))).toBe(expected);
  });

  it('masks as ((crc >>> 15) | (crc << 17)) + 0xa282ead8 (mod 2^32)', () => {
    const bytes = new TextEncoder().encode('123456789');
    const crc = 0xe3069283;
    expect(maskedCrc32c(bytes)).toBe((((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0);
  });

  it('frames a record: uint64 length, masked CRC of the length, data, masked CRC of the data', () => {
    const data = Uint8Array.from([1, 2, 3, 250]);
    const record = frameRecord(data);
    const view = new DataView(record.buffer);
    expect(record.length).toBe(8 + 4 + 4 + 4);
    expect(view.getBigUint64(0, true)).toBe(4n);
    expect(view.getUint32(8, true)).toBe(maskedCrc32c(record.subarray(0, 8)));
    expect(Array.from(record.subarray(12, 16))).toEqual([1, 2, 3, 250]);
    expect(view.getUint32(16, true)).toBe(maskedCrc32c(data));
  });

  it('the file_version record has the well-known header of every TensorBoard file', () => {
    const record = frameRecord(encodeEvent({ wallTime: 1_700_000_000, fileVersion: 'brain.Event:2' }));
    // length 24 and its masked CRC: 18 00 00 00 00 00 00 00 a3 7f 4b 22
    expect(Buffer.from(record.subarray(0, 12)).toString('hex')).toBe('1800000000000000a37f4b22');
  });
});

describe('Event protos', () => {
  it('encodes wall_time, step and one scalar field by field', () => {
    const bytes = encodeEvent({ wallTime: 0.5, step: 300, scalars: [['a', 1]] });
    expect(Buffer.from(bytes).toString('hex')).toBe(
      [
        '09', '000000000000e03f', // 1: wall_time double 0.5
        '10', 'ac02', // 2: step varint 300
        '2a', '0a', // 5: summary, 10 bytes
        '0a', '08', // summary.value[0], 8 bytes
        '0a', '01', '61', // tag "a"
        '15', '0000803f', // simple_value float 1.0
      ].join(''),
    );
  });

  it('omits step 0 (proto3 default) and refuses a negative step', () => {
    expect(encodeEvent({ wallTime: 0, step: 0 }).length).toBe(9);
    expect(() => encodeEvent({ wallTime: 0, step: -1 })).toThrow(/ProtoWriter.varint: expected a safe integer >= 0, got -1/);
  });
});

describe('TfEventsWriter', () => {
  it('writes the same bytes as the committed fixture that TensorBoard read back (wall time injected)', () => {
    const path = writeSpecEvents(join(tmp, 'again'));
    expect(basename(path)).toBe(FIXTURE_FILE);
    const fresh = readFileSync(path);
    const committed = readFileSync(new URL(FIXTURE_FILE, FIXTURE_DIR));
    expect(fresh.length).toBe(committed.length);
    expect(fresh.equals(committed)).toBe(true);
  });

  it('the Python verdict (tools/reference/tfevents_check.py) says TensorBoard read every scalar of the spec', () => {
    const verdict = JSON.parse(readFileSync(new URL('verdict.json', FIXTURE_DIR), 'utf8')) as {
      ok: boolean;
      problems: string[];
      records: number;
      file_version: string;
      scalars: Record<string, Array<[number, number, number]>>;
    };
    expect(verdict.ok).toBe(true);
    expect(verdict.problems).toEqual([]);
    expect(verdict.file_version).toBe('brain.Event:2');
    expect(verdict.records).toBe(TFEVENTS_SCALARS.length + 1);
    // The spec the fixture was made from is still today's spec...
    expect(JSON.parse(readFileSync(new URL('expected.json', FIXTURE_DIR), 'utf8'))).toEqual(expectedScalars());
    // ...and TensorBoard's values are those numbers rounded to float32.
    const expected = expectedScalars();
    expect(Object.keys(verdict.scalars).sort()).toEqual(Object.keys(expected).sort());
    for (const [tag, rows] of Object.entries(expected)) {
      expect(verdict.scalars[tag]).toEqual(rows.map(([step, value, wall]) => [step, Math.fround(value), wall]));
    }
  });

  it('a second writer in the same second takes the next suffix instead of truncating the first file', () => {
    const dir = join(tmp, 'twice');
    const first = TfEventsWriter.open(dir, { hostname: 'h', wallTime: () => 42 });
    first.scalars(1, { a: 1 });
    first.close();
    const second = TfEventsWriter.open(dir, { hostname: 'h', wallTime: () => 42.5 });
    second.close();
    expect(basename(first.path)).toBe('events.out.tfevents.42.h');
    expect(basename(second.path)).toBe('events.out.tfevents.42.h.1');
    expect(readFileSync(first.path).length).toBeGreaterThan(readFileSync(second.path).length); // first kept its scalar
  });

  it('skips non-finite values and refuses writes after close', () => {
    let t = 0;
    const writer = TfEventsWriter.open(join(tmp, 'nan'), { hostname: 'h', wallTime: () => 10 + t++ });
    writer.scalars(1, { 'train/loss': NaN, 'train/lr': Infinity });
    writer.scalars(2, { 'train/loss': 1 });
    writer.close();
    const bytes = readFileSync(writer.path);
    const header = frameRecord(encodeEvent({ wallTime: 10, fileVersion: 'brain.Event:2' }));
    const one = frameRecord(encodeEvent({ wallTime: 11, step: 2, scalars: [['train/loss', 1]] }));
    expect(Buffer.from(bytes).equals(Buffer.concat([header, one]))).toBe(true);
    expect(() => writer.scalars(3, { x: 1 })).toThrow(/is closed/);
  });
});
