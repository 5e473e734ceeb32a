/**
 * One engine per owner folder. The lock is a file made complete-or-not-at-all (a hard link of a
 * finished temporary file, which never replaces an existing one) holding the holder's pid and
 * the start time of that process from /proc, so that a lock left by a crashed engine is known to
 * be stale even when its pid has been reused by another program, and is taken over. SQLite's
 * exclusive locking mode on engine.sqlite (store.ts) is the second line of defence.
 */
import { linkSync, readFileSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createExclusive } from '../util/atomic-write.js';
import { processStartTicks } from '../util/proc.js';

export class EngineLockError extends Error {
  constructor(message: string, readonly holderPid: number) {
    super(message);
    this.name = 'EngineLockError';
  }
}

export interface EngineLock {
  release(): void;
}

interface Holder {
  pid: number;
  /** Clock ticks after boot at which the process started (/proc/PID/stat field 22); '' if unknown. */
  start: string;
}

/** How many times a stale lock is taken over before giving up (others racing for it). */
const ATTEMPTS = 3;

export function acquireEngineLock(file: string): EngineLock {
  const mine: Holder = { pid: process.pid, start: processStart(process.pid) };
  const content = `${mine.pid} ${mine.start}\n`;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (createExclusive(file, content)) return { release: () => releaseIf(file, content) };
    const text = readText(file);
    if (text === undefined) continue; // released between the two calls: try again
    const holder = parseHolder(text);
    if (holder && isAlive(holder)) {
      throw new EngineLockError(`another workflow engine (pid ${holder.pid}) already runs for this owner folder: it holds ${file}`, holder.pid);
    }
    takeOver(file, text);
  }
  throw new Error(`cannot take the engine lock ${file}: other engines keep racing for it; try again`);
}

/**
 * Moves a stale lock aside. If what was moved is not the stale lock that was inspected (another
 * engine took it over meanwhile), it is put back.
 */
function takeOver(file: string, staleText: string): void {
  const aside = `${file}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (readText(aside) !== staleText) {
    try {
      linkSync(aside, file);
    } catch {
      // Someone holds it again; the next attempt names them.
    }
  }
  rmSync(aside, { force: true });
}

function releaseIf(file: string, content: string): void {
  if (readText(file) !== content) return;
  try {
    unlinkSync(file);
  } catch {
    // Already gone.
  }
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** The pid of the live engine holding the lock `file`, if one does. */
export function lockHolder(file: string): number | undefined {
  const text = readText(file);
  const holder = text === undefined ? undefined : parseHolder(text);
  return holder && isAlive(holder) ? holder.pid : undefined;
}

function parseHolder(text: string): Holder | undefined {
  const match = /^([0-9]+) ?([0-9]*)\n?$/.exec(text);
  return match ? { pid: Number(match[1]), start: match[2] ?? '' } : undefined;
}

function isAlive(holder: Holder): boolean {
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const start = processStart(holder.pid);
  // A different start time: the pid now belongs to another process.
  return holder.start === '' || start === '' || start === holder.start;
}

/** The process's start time from /proc, or '' where there is no /proc (or no such process). */
export function processStart(pid: number): string {
  return processStartTicks(pid) ?? '';
}
