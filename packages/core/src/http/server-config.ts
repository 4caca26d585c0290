import { numberFlag } from '../number-flag';

/**
 * The settings every serve command shares (the HTTP side; batching and request limits are each
 * app's). Each is a flag of `gap-relm serve`, `mateconv serve` and `sgdd serve`: the same name in
 * kebab case.
 */
export interface HttpServerConfig {
  host: string;
  port: number;
  maxBodyBytes: number;
  shutdownGraceMs: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
}

export const DEFAULT_HTTP_SERVER_CONFIG: Readonly<HttpServerConfig> = Object.freeze({
  host: '127.0.0.1', // loopback only; 0.0.0.0 serves other machines
  port: 8080, // 0 = any free port (the one chosen is printed)
  maxBodyBytes: 1024 * 1024, // request body; reading stops at the limit (413)
  shutdownGraceMs: 10_000, // on shutdown, requests and connections still open this long after it began are cut
  headersTimeoutMs: 10_000, // a client must send its request headers within this (slow clients; Node's default is 60 s)
  requestTimeoutMs: 30_000, // and its whole request within this (Node's default is 300 s)
  keepAliveTimeoutMs: 5_000, // an idle kept-alive connection is closed after this
  maxConnections: 256, // connections open at once; more are refused at connect
});

/** One integer flag of the HTTP settings: its config key, flag, lower bound (and upper) and help. */
export interface HttpServerFlag {
  key: Exclude<keyof HttpServerConfig, 'host'>;
  flag: string;
  min: number;
  max?: number;
  description: string;
}

/** The integer flags, in help order (`--host <host>` is the one string flag). */
export const HTTP_SERVER_FLAGS: readonly HttpServerFlag[] = [
  { key: 'port', flag: '--port', min: 0, max: 65535, description: 'port to listen on (0 = any free port)' },
  { key: 'maxBodyBytes', flag: '--max-body-bytes', min: 1, description: 'largest request body (413 body_too_large)' },
  { key: 'shutdownGraceMs', flag: '--shutdown-grace-ms', min: 0, description: 'on SIGINT / SIGTERM, cut the requests and connections still open this long after it' },
  { key: 'headersTimeoutMs', flag: '--headers-timeout-ms', min: 1, description: 'a client must send its request headers within this (408, JSON body)' },
  { key: 'requestTimeoutMs', flag: '--request-timeout-ms', min: 1, description: 'a client must send its whole request within this (408, JSON body)' },
  { key: 'keepAliveTimeoutMs', flag: '--keep-alive-timeout-ms', min: 1, description: 'an idle kept-alive connection is closed after this' },
  { key: 'maxConnections', flag: '--max-connections', min: 1, description: 'connections open at once; more are refused at connect' },
];

/** What `addHttpServerOptions` needs of a command (commander's `Command` has it). */
export interface OptionTarget {
  option(flags: string, description: string, parse: (value: string, previous: number) => number, defaultValue: number): unknown;
  option(flags: string, description: string, defaultValue: string): unknown;
}

/**
 * Adds `--host` and the integer flags of `HTTP_SERVER_FLAGS` to a command, with `defaults`.
 * `usageError` makes the error a bad value throws (commander's `InvalidArgumentError`, so the app
 * reports it as a usage error): `--port must be an integer in [0, 65535], got "70000"`.
 */
export function addHttpServerOptions<T extends OptionTarget>(command: T, usageError: (message: string) => Error, defaults: HttpServerConfig = DEFAULT_HTTP_SERVER_CONFIG): T {
  command.option('--host <host>', 'address to listen on', defaults.host);
  for (const f of HTTP_SERVER_FLAGS) {
    command.option(`${f.flag} <n>`, f.description, numberFlag(f.flag, { integer: true, min: f.min, max: f.max }, usageError), defaults[f.key]);
  }
  return command;
}

/** The fields of `defaults` taken from a larger object (parsed flags), e.g. for the config log line. */
export function pickConfig<C extends object>(defaults: Readonly<C>, options: C): C {
  return Object.fromEntries(Object.keys(defaults).map((key) => [key, options[key as keyof C]])) as C;
}

/** Resolves with the first of SIGINT / SIGTERM; a second one gets Node's default (exit at once). */
export function nextSignal(): Promise<NodeJS.Signals> {
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      for (const s of signals) process.off(s, on);
      resolve(signal);
    };
    for (const s of signals) process.on(s, on);
  });
}
