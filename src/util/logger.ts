import { pino, type Logger } from 'pino';

export type { Logger };

/** One logger per process; parts take child loggers named for themselves. */
export function createLogger(name: string, level = process.env.FLOTILLA_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level, redact: { paths: ['password', '*.password', 'token', '*.token', 'secret', '*.secret'], remove: true } });
}

/** A logger that writes nothing, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
