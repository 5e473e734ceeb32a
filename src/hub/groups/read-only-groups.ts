import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { errorMessage } from '../../util/values.js';
import { hubDatabaseFile } from '../db.js';
import { GroupStore } from './group-store.js';

/**
 * The groups made and filled at run time (admin page, REST API), read from the hub's database
 * without writing to it, for commands that must see what the running hub sees. Empty when the hub
 * has never run with this data directory; throws, naming the file, when it cannot be read.
 */
export function readRunTimeGroups(dataDir: string): { groups: string[]; members: Map<string, Set<string>> } {
  const file = hubDatabaseFile(dataDir);
  if (!existsSync(file)) return { groups: [], members: new Map() };
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    return new GroupStore(db).load();
  } catch (err) {
    throw new Error(`cannot read the groups the hub manages at run time from ${file}: ${errorMessage(err)} (run this as the hub's user)`);
  } finally {
    db?.close();
  }
}
