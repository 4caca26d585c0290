import { Command, CommanderError } from 'commander';
import { DataError } from '@proj/core';
import { type CliIO, CliError, processIO } from './cli-io';
import { registerDemo } from './commands/demo';
import { registerEval } from './commands/eval';
import { registerExport } from './commands/export';
import { registerPrepare } from './commands/prepare';
import { registerSample } from './commands/sample';
import { registerServe } from './commands/serve';
import { registerTrain } from './commands/train';

export const VERSION = '0.1.0';

/** Builds the `sgdd` command line. Each command is registered by its own module. */
export function buildProgram(io: CliIO): Command {
  const program = new Command('sgdd')
    .description('SGDD: semantic-guided discrete diffusion. prepare (encode once), train (reconstruction, then paraphrase), sample, eval, export (ONNX), demo, serve')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride();
  // Results go to stdout as JSON so they can be piped; logs and progress go to stderr.
  const report = (result: unknown) => io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  registerPrepare(program, io, report);
  registerTrain(program, io, report);
  registerSample(program, io);
  registerEval(program, io, report);
  registerExport(program, io, report);
  registerDemo(program, io, report);
  registerServe(program, io);
  for (const command of program.commands) command.exitOverride().configureOutput(program.configureOutput());
  return program;
}

/** Runs the CLI and returns the exit code: 0 ok, 1 unexpected failure, 2 usage or input error. */
export async function runCli(argv: string[], io: CliIO = processIO): Promise<number> {
  try {
    await buildProgram(io).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    // --help and --version end here too, with exit code 0.
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof CliError || error instanceof DataError) {
      io.stderr.write(`sgdd: ${error.message.split('\n')[0]}\n`);
      return 2;
    }
    io.stderr.write(`sgdd: ${(error as Error)?.stack ?? String(error)}\n`);
    return 1;
  }
}
