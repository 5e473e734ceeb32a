import { fstatSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * One logger per process; parts take child loggers named for themselves. Logs are JSON lines
 * (for files and log collectors) unless a person is watching a terminal, who gets readable
 * lines instead. FLOTILLA_LOG_FORMAT=json|pretty overrides the guess.
 */
export function createLogger(name: string, level = process.env.FLOTILLA_LOG_LEVEL ?? 'info'): Logger {
  const options: LoggerOptions = {
    name,
    level,
    redact: { paths: ['password', '*.password', 'token', '*.token', 'secret', '*.secret'], remove: true },
  };
  const format = process.env.FLOTILLA_LOG_FORMAT ?? (process.stdout.isTTY ? 'pretty' : 'json');
  if (format !== 'pretty') return pino(options, jsonDestination());
  // Loaded only for a person at a terminal: servers and hubs writing to files never pay for it.
  const { PinoPretty } = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
  return pino(options, PinoPretty({ colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname', sync: true }));
}

/**
 * Where JSON lines go: stdout. A workflow server's stdout is its server.log, where it logs every
 * authorization decision, one line per request: a write to a file straight away costs less than
 * pino's default hand-off of each line to libuv's thread pool and back (a sixth of a busy server's
 * CPU), and leaves no line unwritten if the process dies. Pipes and terminals keep the default,
 * which never blocks on a slow reader.
 */
function jsonDestination(): DestinationStream {
  let toFile = false;
  try {
    toFile = fstatSync(1).isFile();
  } catch {
    // no stdout to look at: the default below
  }
  return pino.destination({ dest: 1, sync: toFile });
}

/** A logger that writes nothing, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
