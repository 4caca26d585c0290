// The scalars behind test/fixtures/tfevents/: shared by the script that writes the fixture and
// the test that checks the writer still produces the same bytes.
import { TfEventsWriter } from '../src/tfevents-writer';

export const TFEVENTS_START = 1_700_000_000; // fixed wall time, seconds
export const TFEVENTS_HOST = 'fixture-host';

/** (step, {tag: value}) in write order; values chosen to exercise float32 rounding and signs. */
export const TFEVENTS_SCALARS: Array<[number, Record<string, number>]> = [
  [1, { 'train/loss': 2.302585, 'train/lr': 0 }],
  [2, { 'train/loss': 1 / 3, 'train/lr': 1.5e-4 }],
  [3, { 'train/loss': 0.125, 'train/lr': 3e-4, 'train/grad_norm': 12.75 }],
  [3, { 'dev/loss': 0.4, 'dev/f1': 0.875 }],
  [150, { 'train/loss': -0.0625, 'train/lr': 2.9e-4 }], // step > 127: a two-byte varint
  [300, { 'dev/loss': 0.25, 'dev/f1': 0.9 }],
];

/** Writes the spec into `dir` with wall times start, start + 0.5, start + 1, ...; returns the path. */
export function writeSpecEvents(dir: string): string {
  let tick = 0;
  const writer = TfEventsWriter.open(dir, { hostname: TFEVENTS_HOST, wallTime: () => TFEVENTS_START + 0.5 * tick++ });
  for (const [step, values] of TFEVENTS_SCALARS) writer.scalars(step, values);
  writer.close();
  return writer.path;
}

/** tag -> [step, value, wall_time] in write order, as TensorBoard should read them back. */
export function expectedScalars(): Record<string, Array<[number, number, number]>> {
  const out: Record<string, Array<[number, number, number]>> = {};
  TFEVENTS_SCALARS.forEach(([step, values], i) => {
    // wall time i + 1: tick 0 went to the file_version record
    for (const [tag, value] of Object.entries(values)) (out[tag] ??= []).push([step, value, TFEVENTS_START + 0.5 * (i + 1)]);
  });
  return out;
}
