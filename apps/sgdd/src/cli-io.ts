// Shared with the other apps through @proj/core (gap-relm and mateconv still have their own copies).
export { CliError, log, processIO, type CliIO } from '@proj/core';
