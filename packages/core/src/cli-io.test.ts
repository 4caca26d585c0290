import { describe, expect, it } from 'vitest';
import { CapturedIO, CliError, log } from './cli-io';

describe('cli-io', () => {
  it('CapturedIO keeps stdout and stderr apart; log writes one line to stderr', () => {
    const io = new CapturedIO();
    io.stdout.write('{"ok":true}\n');
    log(io, 'backend: cpu');
    log(io, 'done');
    expect(io.stdoutText).toBe('{"ok":true}\n');
    expect(io.stderrText).toBe('backend: cpu\ndone\n');
  });

  it('CliError is an Error with its own name', () => {
    const e = new CliError('--input: file not found: x');
    expect(e).toBeInstanceOf(Error);
    expect([e.name, e.message]).toEqual(['CliError', '--input: file not found: x']);
  });
});
