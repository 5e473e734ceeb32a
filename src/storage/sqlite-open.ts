/**
 * Opening the SQLite databases (the hub's hub.sqlite, each owner's engine.sqlite) so that damage
 * is named and never silently replaced: every error names the file and says what to do, and an
 * empty or missing file where there was state is refused unless the administrator says to start
 * fresh.
 */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, openSync, statSync } from 'node:fs';
import { resolve } from 'node:path';

/** Lists database files that may start empty although they held state (separated by commas). */
export const START_FRESH_ENV = 'FLOTILLA_START_FRESH';

const RESTORE = 'restore it from a backup (bin/flotilla backup)';

/** A database that cannot be used as it is; the message names the file and what to do. */
export class DatabaseError extends Error {
  override name = 'DatabaseError';

  constructor(
    readonly file: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

function sqliteCode(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : '';
}

/** SQLite says the file is not a database or its content is malformed: only a backup helps. */
export function isDatabaseDamage(err: unknown): boolean {
  const code = sqliteCode(err);
  return code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT');
}

/** The error of an operation on `file`, reworded to name the file and what to do about it. */
export function explainDatabaseError(file: string, err: unknown): DatabaseError {
  if (err instanceof DatabaseError) return err;
  const code = sqliteCode(err);
  const detail = err instanceof Error ? err.message : String(err);
  if (code === 'SQLITE_NOTADB') {
    return new DatabaseError(file, `${file} is not a SQLite database (damaged?); ${RESTORE} or move it away to start fresh`, { cause: err });
  }
  if (isDatabaseDamage(err)) {
    return new DatabaseError(file, `${file} is damaged (${detail}); ${RESTORE} or move it away to start fresh`, { cause: err });
  }
  if (code === 'SQLITE_FULL') return new DatabaseError(file, `${file}: the disk is full (${detail}); free some space`, { cause: err });
  if (code.startsWith('SQLITE_')) {
    return new DatabaseError(file, `${file}: ${detail} (${code}); check the file's permissions and the disk`, { cause: err });
  }
  return new DatabaseError(file, `${file}: ${detail}`, { cause: err });
}

export interface OpenDatabaseOptions {
  /** Hold the database for this process alone (locking_mode EXCLUSIVE). */
  exclusive?: boolean;
  /**
   * Why a missing or empty file would mean lost state (e.g. "/data/users/alice/runs exists"),
   * or undefined when a new, empty database is expected.
   */
  stateEvidence: string | undefined;
  /** The administrator's way to start fresh anyway, for the refusal's message. */
  startFreshHint: string;
  /** The administrator said to start fresh (FLOTILLA_START_FRESH also says so for listed files). */
  startFresh?: boolean;
  /** Mode the file gets, even when created here (SQLite gives its -wal and -shm files the same). */
  mode?: number;
}

function startFreshAllowed(file: string, options: OpenDatabaseOptions): boolean {
  if (options.startFresh) return true;
  const listed = (process.env[START_FRESH_ENV] ?? '').split(',').filter((entry) => entry.trim() !== '');
  return listed.some((entry) => resolve(entry.trim()) === resolve(file));
}

/** The file's size, or undefined when there is no file. */
function sizeOf(file: string): number | undefined {
  try {
    return statSync(file).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw explainDatabaseError(file, err);
  }
}

/**
 * Opens `file` in WAL mode, reading its header and schema at once so that a damaged file is
 * reported here, naming it, rather than by the first query.
 */
export function openDatabase(file: string, options: OpenDatabaseOptions): Database.Database {
  const size = sizeOf(file);
  if ((size === undefined || size === 0) && options.stateEvidence !== undefined && !startFreshAllowed(file, options)) {
    throw new DatabaseError(
      file,
      `${file} is ${size === undefined ? 'missing' : 'empty (0 bytes)'} but ${options.stateEvidence}: starting on an empty ` +
        `database would forget that state. ${RESTORE[0]!.toUpperCase()}${RESTORE.slice(1)}, or to start fresh on purpose, ${options.startFreshHint}`,
    );
  }
  let db: Database.Database | undefined;
  try {
    if (options.mode !== undefined) {
      closeSync(openSync(file, 'a', options.mode));
      chmodSync(file, options.mode);
    }
    db = new Database(file);
    // Before WAL, so that the WAL index lives in this process's memory, not a shared file.
    if (options.exclusive) db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    return db;
  } catch (err) {
    db?.close();
    throw explainDatabaseError(file, err);
  }
}
