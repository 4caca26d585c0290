import { Command, CommanderError } from 'commander';
import { DataError } from '@proj/core';
import { PrepareError } from '@proj/models';
import { type CliIO, CliError, processIO } from './cli-io';
import { registerChat } from './commands/chat';
import { registerDemo } from './commands/demo';
import { registerEval } from './commands/eval';
import { registerExport } from './commands/export';
import { registerGenerate } from './commands/generate';
import { registerPrepare } from './commands/prepare';
import { registerPretrain } from './commands/pretrain';
import { registerServe } from './commands/serve';

export const VERSION = '0.1.0';

/** Builds the `mateconv` command line. Each command is registered by its own module. */
export function buildProgram(io: CliIO): Command {
  const program = new Command('mateconv')
    .description('MateConv: small Chinese decoder LMs, from a JSONL corpus to generation')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride();
  // Results go to stdout as JSON so they can be piped; logs and progress go to stderr.
  const report = (result: unknown) => io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  registerPrepare(program, io, report);
  registerPretrain(program, io, report);
  registerGenerate(program, io);
  registerChat(program, io);
  registerEval(program, io, report);
  registerExport(program, io, report);
  registerServe(program, io);
  registerDemo(program, io, report);
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
    if (error instanceof CliError || error instanceof DataError || error instanceof PrepareError) {
      io.stderr.write(`mateconv: ${error.message}\n`);
      return 2;
    }
    io.stderr.write(`mateconv: ${(error as Error)?.stack ?? String(error)}\n`);
    return 1;
  }
}
