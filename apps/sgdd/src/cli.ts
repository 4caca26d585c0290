import { runCli } from './program';

// The bin entry: everything else is importable and testable in-process.
runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
