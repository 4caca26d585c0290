import { Command, CommanderError } from 'commander';
import { DataError } from '@proj/core';
import { type CliIO, CliError, processIO, userFsError } from './cli-io';
import { registerAlign } from './commands/align';
import { registerCompile } from './commands/compile';
import { registerDemo } from './commands/demo';
import { registerEval } from './commands/eval';
import { registerExport } from './commands/export';
import { registerFrozenDev } from './commands/frozen-dev';
import { registerPredict } from './commands/predict';
import { registerPretrained } from './commands/pretrained';
import { registerServe } from './commands/serve';
import { registerSynth } from './commands/synth';
import { registerTrain } from './commands/train';
import { registerTune } from './commands/tune';

export const VERSION = '0.1.0';

/** Builds the `gap-relm` command line. Each command is registered by its own module. */
export function buildProgram(io: CliIO): Command {
  const program = new Command('gap-relm')
    .description('Gap-ReLM Chinese spelling and grammar correction: data (synth, frozen-dev, align, compile), training (train, tune), correction (predict, export, serve), evaluation (eval), and the whole job on bundled data (demo)')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .exitOverride();
  // Results go to stdout as JSON so they can be piped; logs and progress go to stderr.
  const report = (result: unknown) => io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  registerDemo(program, io);
  registerSynth(program, io, report);
  registerFrozenDev(program, io, report);
  registerAlign(program, io, report);
  registerCompile(program, io, report);
  registerEval(program, io);
  registerTrain(program, io, report);
  registerPredict(program, io);
  registerTune(program, io);
  registerExport(program, io);
  registerServe(program, io);
  registerPretrained(program, io);
  for (const command of program.commands) command.exitOverride().configureOutput(program.configureOutput());
  return program;
}

/** Runs the CLI and returns the exit code: 0 ok, 1 unexpected failure, 2 usage or input error. */
export async function runCli(argv: string[], io: CliIO = processIO): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof CliError || error instanceof DataError) {
      io.stderr.write(`gap-relm: ${error.message}\n`);
      return 2;
    }
    const fsError = userFsError(error);
    if (fsError !== null) {
      io.stderr.write(`gap-relm: ${fsError}\n`);
      return 2;
    }
    io.stderr.write(`gap-relm: ${(error as Error)?.stack ?? String(error)}\n`);
    return 1;
  }
}
