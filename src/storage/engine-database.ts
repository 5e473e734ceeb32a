import type Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { openDatabase, START_FRESH_ENV } from './sqlite-open.js';

/**
 * Where an owner's engine keeps its state, under the owner folder: its database, its lock (the
 * holder's pid), and the snapshot it writes when asked for a backup (SIGUSR2), because while it
 * runs no other process can read the database it holds exclusively.
 */
export function engineStateFiles(ownerDir: string): { dir: string; database: string; lock: string; snapshot: string } {
  const dir = join(ownerDir, '.flotilla');
  return { dir, database: join(dir, 'engine.sqlite'), lock: join(dir, 'engine.lock'), snapshot: join(dir, 'engine-snapshot.sqlite') };
}

/**
 * Opens an owner's engine database, `<owner folder>/.flotilla/engine.sqlite`. The owner folder's
 * `runs/` holds the job folders of workflows this database tracked: with runs/ there, an empty or
 * missing database would forget every workflow's state, so it is refused unless listed in
 * FLOTILLA_START_FRESH.
 */
export function openEngineDatabase(file: string): Database.Database {
  const runs = join(dirname(dirname(file)), 'runs');
  return openDatabase(file, {
    exclusive: true,
    stateEvidence: existsSync(runs) ? `${runs} exists (workflows have run here)` : undefined,
    startFreshHint: `start the hub with ${START_FRESH_ENV}=${file} in its environment and start this owner's server again`,
  });
}
