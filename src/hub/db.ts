import Database from 'better-sqlite3';
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';

export type HubDatabase = Database.Database;

/**
 * Opens `<data_dir>/hub.sqlite` in WAL mode and creates the hub's own tables. The spawner adds
 * its `servers` table to the same database.
 */
export function openHubDatabase(dataDir: string): HubDatabase {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, 'hub.sqlite');
  // Session ids, token hashes and workflow-server secrets live here: owner-only, like the
  // cookie secret (SQLite gives its -wal and -shm files the same mode).
  closeSync(openSync(file, 'a', 0o600));
  chmodSync(file, 0o600);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
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
  return db;
}
