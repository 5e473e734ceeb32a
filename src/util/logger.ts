import { createRequire } from 'node:module';
import { pino, type Logger, type LoggerOptions } from 'pino';

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
  if (format !== 'pretty') return pino(options);
  // Loaded only for a person at a terminal: servers and hubs writing to files never pay for it.
  const { PinoPretty } = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
  return pino(options, PinoPretty({ colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname', sync: true }));
}

/** A logger that writes nothing, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
