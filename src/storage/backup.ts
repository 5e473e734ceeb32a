/**
 * Online backups of the hub's database and of every owner's engine database, consistent while
 * the hub and the workflow servers go on writing: SQLite's backup API copies each database as
 * of one moment.
 */
import Database from 'better-sqlite3';
import { chownSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { explainDatabaseError } from './sqlite-open.js';

export interface BackedUp {
  /** What it is: "hub" or the owner's name. */
  what: string;
  source: string;
  target: string;
  bytes: number;
}

export interface BackupResult {
  folder: string;
  files: BackedUp[];
}

/** The engine database of an owner, as the engine keeps it (src/scheduler/engine.ts). */
function engineDatabaseOf(dataDir: string, owner: string): string {
  return join(dataDir, 'users', owner, '.flotilla', 'engine.sqlite');
}

function ownersWithEngines(dataDir: string): string[] {
  const usersDir = join(dataDir, 'users');
  if (!existsSync(usersDir)) return [];
  return readdirSync(usersDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(engineDatabaseOf(dataDir, entry.name)))
    .map((entry) => entry.name)
    .sort();
}

/** `2026-12-01T08-20-00Z`: sortable, and no colons (awkward in file names on some systems). */
function stamp(now: Date): string {
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z').replaceAll(':', '-');
}

/**
 * Reading a WAL database leaves -wal and -shm files behind; made by root (backing up servers that
 * run as their owners) they would lock the owner out of their own database, so they get the
 * database file's owner.
 */
function keepSideFilesOwned(file: string): void {
  if (process.getuid?.() !== 0) return;
  const { uid, gid } = statSync(file);
  for (const side of [`${file}-wal`, `${file}-shm`]) {
    if (existsSync(side) && statSync(side).uid !== uid) chownSync(side, uid, gid);
  }
}

async function backupOne(what: string, source: string, target: string): Promise<BackedUp> {
  let db: Database.Database | undefined;
  try {
    db = new Database(source, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    // One step for the whole file: the copy is of one moment, and writers cannot restart it.
    await db.backup(target, { progress: () => 0x7fffffff });
  } catch (err) {
    throw explainDatabaseError(source, err);
  } finally {
    db?.close();
    keepSideFilesOwned(source);
  }
  return { what, source, target, bytes: statSync(target).size };
}

/**
 * Backs up `<data_dir>/hub.sqlite` and each `<data_dir>/users/<owner>/.flotilla/engine.sqlite`
 * into a new folder `<toDir>/flotilla-backup-<UTC time>/` (hub.sqlite, users/<owner>/engine.sqlite),
 * readable by the caller alone: the hub's database holds session ids and server secrets.
 */
export async function backupDatabases(dataDir: string, toDir: string, now = new Date()): Promise<BackupResult> {
  const hubFile = join(dataDir, 'hub.sqlite');
  if (!existsSync(hubFile)) throw new Error(`${hubFile}: no such file; is ${dataDir} the hub's data_dir?`);
  mkdirSync(toDir, { recursive: true, mode: 0o700 });
  const folder = join(toDir, `flotilla-backup-${stamp(now)}`);
  // Not recursive: a folder of the same second is another backup, never to be mixed with this one.
  mkdirSync(folder, { mode: 0o700 });
  const files = [await backupOne('hub', hubFile, join(folder, 'hub.sqlite'))];
  for (const owner of ownersWithEngines(dataDir)) {
    const target = join(folder, 'users', owner);
    mkdirSync(target, { recursive: true, mode: 0o700 });
    files.push(await backupOne(owner, engineDatabaseOf(dataDir, owner), join(target, 'engine.sqlite')));
  }
  return { folder, files };
}
