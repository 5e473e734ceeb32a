/**
 * Online backups of the hub's database and of every owner's engine database, consistent while
 * the hub and the workflow servers go on writing: SQLite's backup API copies each database as
 * of one moment. A running engine holds its database exclusively, so it is asked (SIGUSR2) to
 * write that copy itself, and the copy is taken from the owner's folder with care: the owner
 * controls that folder, and this runs as root.
 */
import Database from 'better-sqlite3';
import { chownSync, closeSync, constants, existsSync, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { isValidUserName } from '../config/names.js';
import { ownerDir } from '../config/owner.js';
import { lockHolder } from '../scheduler/engine-lock.js';
import { readProcFile } from '../util/proc.js';
import { errorMessage } from '../util/values.js';
import { engineStateFiles } from './engine-database.js';
import { explainDatabaseError } from './sqlite-open.js';

/** How long a running engine has to write its snapshot (a large database takes seconds). */
const SNAPSHOT_TIMEOUT_MS = 60_000;
const SNAPSHOT_LOOK_MS = 100;

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
  /** Owners whose database could not be copied, and why (the others are copied all the same). */
  failed: { what: string; reason: string }[];
}

function ownersWithEngines(dataDir: string): string[] {
  const usersDir = join(dataDir, 'users');
  if (!existsSync(usersDir)) return [];
  return readdirSync(usersDir, { withFileTypes: true })
    // A folder whose name is no user name belongs to no owner.
    .filter((entry) => entry.isDirectory() && isValidUserName(entry.name) && existsSync(engineStateFiles(ownerDir(dataDir, entry.name)).database))
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
 * An owner's engine database: read directly when no engine runs, else the snapshot its engine
 * writes when asked. Links are refused, of the database or of its folder (the owner could point
 * them at any file root can read).
 */
async function backupOwner(owner: string, ownerDir: string, target: string, isServerOf: ServerCheck): Promise<BackedUp> {
  const files = engineStateFiles(ownerDir);
  // The folder too: through a linked .flotilla, a regular engine.sqlite could be anyone's.
  if (!lstatSync(files.dir).isDirectory()) throw new Error(`${files.dir} is not a folder (a link?): not copied`);
  const database = lstatSync(files.database);
  if (!database.isFile()) throw new Error(`${files.database} is not a regular file (a link?): not copied`);
  const engine = lockHolder(files.lock);
  if (engine === undefined) return backupOne(owner, files.database, target);
  // The lock file is the owner's to write: only their own workflow server, running as the
  // database's owner, is ever signalled from here (as root), never whatever pid it names.
  if (!isServerOf(owner, engine) || processUid(engine) !== database.uid) {
    throw new Error(`${files.lock} names pid ${engine}, which is not ${owner}'s workflow server: not signalled, not copied`);
  }
  rmSync(files.snapshot, { force: true });
  try {
    process.kill(engine, 'SIGUSR2');
  } catch {
    // It stopped a moment ago, and let go of the database.
    return backupOne(owner, files.database, target);
  }
  const deadline = Date.now() + SNAPSHOT_TIMEOUT_MS;
  for (;;) {
    const fd = openOwnedFile(files.snapshot, database.uid);
    if (fd !== undefined) return copySnapshot(owner, files.snapshot, fd, target);
    if (Date.now() > deadline) {
      throw new Error(`${files.database}: its workflow server (pid ${engine}) wrote no snapshot within ${SNAPSHOT_TIMEOUT_MS / 1000} s; see that server's log`);
    }
    await delay(SNAPSHOT_LOOK_MS);
  }
}

/** A descriptor of `file` if it exists as a regular file owned by `uid` (never through a link). */
function openOwnedFile(file: string, uid: number): number | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`${file}: ${errorMessage(err)} (a link is refused)`);
  }
  const stat = fstatSync(fd);
  if (!stat.isFile() || stat.uid !== uid) {
    closeSync(fd);
    throw new Error(`${file} is not a regular file of the database's owner (uid ${uid}): not copied`);
  }
  return fd;
}

/** Copies the snapshot behind `fd` to `target`, checks the copy is a sound database, and removes the snapshot. */
function copySnapshot(what: string, snapshot: string, fd: number, target: string): BackedUp {
  const out = openSync(target, 'wx', 0o600);
  try {
    const chunk = Buffer.alloc(1 << 20);
    for (let n; (n = readSync(fd, chunk)) > 0; ) {
      for (let done = 0; done < n; ) done += writeSync(out, chunk, done, n - done);
    }
  } finally {
    closeSync(out);
    closeSync(fd);
  }
  const copy = new Database(target, { readonly: true });
  try {
    const check = copy.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new Error(`the snapshot of ${what}'s engine database is not sound (${String(check)})`);
  } finally {
    copy.close();
  }
  rmSync(snapshot, { force: true });
  return { what, source: snapshot, target, bytes: statSync(target).size };
}

/**
 * Backs up `<data_dir>/hub.sqlite` and each `<data_dir>/users/<owner>/.flotilla/engine.sqlite`
 * into a new folder `<toDir>/flotilla-backup-<UTC time>/` (hub.sqlite, users/<owner>/engine.sqlite),
 * readable by the caller alone: the hub's database holds session ids and server secrets.
 */
/** Whether `pid` is `owner`'s workflow server (the spawner knows how to tell, from its command line). */
export type ServerCheck = (owner: string, pid: number) => boolean;

/** The real uid a process runs as, from /proc; undefined when it cannot be read. */
function processUid(pid: number): number | undefined {
  const uid = /^Uid:\s+(\d+)/m.exec(readProcFile(pid, 'status') ?? '')?.[1];
  return uid === undefined ? undefined : Number(uid);
}

export async function backupDatabases(dataDir: string, toDir: string, isServerOf: ServerCheck, now = new Date()): Promise<BackupResult> {
  const hubFile = join(dataDir, 'hub.sqlite');
  if (!existsSync(hubFile)) throw new Error(`${hubFile}: no such file; is ${dataDir} the hub's data_dir?`);
  mkdirSync(toDir, { recursive: true, mode: 0o700 });
  const folder = join(toDir, `flotilla-backup-${stamp(now)}`);
  // Not recursive: a folder of the same second is another backup, never to be mixed with this one.
  mkdirSync(folder, { mode: 0o700 });
  const files = [await backupOne('hub', hubFile, join(folder, 'hub.sqlite'))];
  const failed: BackupResult['failed'] = [];
  for (const owner of ownersWithEngines(dataDir)) {
    const target = join(folder, 'users', owner);
    mkdirSync(target, { recursive: true, mode: 0o700 });
    try {
      files.push(await backupOwner(owner, ownerDir(dataDir, owner), join(target, 'engine.sqlite'), isServerOf));
    } catch (err) {
      failed.push({ what: owner, reason: errorMessage(err) });
      rmSync(target, { recursive: true, force: true });
    }
  }
  return { folder, files, failed };
}
