// The plumbing every app shares (results to stdout, logs to stderr, CliError = one line and exit 2).
export { CliError, log, processIO, type CliIO } from '@proj/core';
