import Database from 'better-sqlite3';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { explainDatabaseError, openDatabase } from '../storage/sqlite-open.js';
import { writeFileAtomic } from '../util/atomic-write.js';

export type HubDatabase = Database.Database;

/** Written on the hub's first start: from then on an empty or missing hub.sqlite is lost state. */
const MARKER = 'hub-state.marker';

export function hubDatabaseFile(dataDir: string): string {
  return join(dataDir, 'hub.sqlite');
}

/** Why an empty or missing hub.sqlite would lose state, if it would. */
function hubStateEvidence(dataDir: string): string | undefined {
  const marker = join(dataDir, MARKER);
  if (existsSync(marker)) return `${marker} says this hub has run before`;
  return undefined;
}

/**
 * Opens `<data_dir>/hub.sqlite` in WAL mode and creates the hub's own tables. The spawner adds
 * its `servers` table to the same database. A damaged file, or a missing or empty one after the
 * hub has run before, is refused with a message naming it, unless `startFresh` allows the latter.
 */
export function openHubDatabase(dataDir: string, options: { startFresh?: boolean } = {}): HubDatabase {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = hubDatabaseFile(dataDir);
  const db = openDatabase(file, {
    stateEvidence: hubStateEvidence(dataDir),
    startFreshHint: 'start the hub once with `bin/flotilla hub --start-fresh`',
    ...(options.startFresh ? { startFresh: true } : {}),
    // Session ids, token hashes and workflow-server secrets live here: owner-only, like the
    // cookie secret.
    mode: 0o600,
  });
  try {
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    db.exec(`
    CREATE TABLE IF NOT EXISTS sessions (
      sid TEXT PRIMARY KEY,
      expires INTEGER NOT NULL,
      data TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS sessions_expires ON sessions (expires);
    CREATE TABLE IF NOT EXISTS hub_groups (
      name TEXT PRIMARY KEY,
      created_at INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS hub_group_members (
      group_name TEXT NOT NULL,
      user_name TEXT NOT NULL,
      PRIMARY KEY (group_name, user_name)
    );
    CREATE TABLE IF NOT EXISTS api_tokens (
      id TEXT PRIMARY KEY,
      user_name TEXT NOT NULL,
      hash TEXT NOT NULL UNIQUE,
      note TEXT NOT NULL DEFAULT '',
      created_at INTEGER NOT NULL,
      expires_at INTEGER
    );
  `);
  } catch (err) {
    db.close();
    throw explainDatabaseError(file, err);
  }
  markHubState(dataDir, file);
  return db;
}

/** Written once the database is open (a hub from before the marker gets it on its next start). */
function markHubState(dataDir: string, file: string): void {
  const marker = join(dataDir, MARKER);
  if (existsSync(marker)) return;
  writeFileAtomic(
    marker,
    `This hub keeps its state in ${file} (first recorded ${new Date().toISOString()}).\n` +
      'While this file exists the hub refuses to start on a missing or empty hub.sqlite; see the README, Troubleshooting.\n',
    0o600,
  );
}
