import type { Database, Statement } from 'better-sqlite3';

/** What the hub remembers about a running workflow server, so that a restarted hub can adopt it. */
export interface ServerRecord {
  owner: string;
  pid: number;
  port: number;
  secret: string;
  startedAt: number;
  lastActivity: number;
}

interface Row {
  owner: string;
  pid: number;
  port: number;
  secret: string;
  started_at: number;
  last_activity: number;
}

/** The spawner's own table in the hub database; every write is a single statement (atomic).
 * Statements are prepared once: activity is saved on every poll. */
export class ServerStore {
  private readonly selectAll: Statement<[], Row>;
  private readonly upsert: Statement<[string, number, number, string, number, number]>;
  private readonly deleteOne: Statement<[string, number]>;
  private readonly updateActivity: Statement<[number, string, number]>;
  private readonly saveActivityAll: (entries: { owner: string; pid: number; lastActivity: number }[]) => void;

  constructor(db: Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS servers (
      owner TEXT PRIMARY KEY,
      pid INTEGER NOT NULL,
      port INTEGER NOT NULL,
      secret TEXT NOT NULL,
      started_at INTEGER NOT NULL,
      last_activity INTEGER NOT NULL
    )`);
    this.selectAll = db.prepare('SELECT * FROM servers ORDER BY owner');
    this.upsert = db.prepare(
      `INSERT INTO servers (owner, pid, port, secret, started_at, last_activity)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT(owner) DO UPDATE SET pid = excluded.pid, port = excluded.port,
         secret = excluded.secret, started_at = excluded.started_at,
         last_activity = excluded.last_activity`,
    );
    this.deleteOne = db.prepare('DELETE FROM servers WHERE owner = ? AND pid = ?');
    this.updateActivity = db.prepare('UPDATE servers SET last_activity = ? WHERE owner = ? AND pid = ?');
    this.saveActivityAll = db.transaction((entries) => {
      for (const e of entries) this.updateActivity.run(e.lastActivity, e.owner, e.pid);
    });
  }

  all(): ServerRecord[] {
    const rows = this.selectAll.all();
    return rows.map((r) => ({
      owner: r.owner,
      pid: r.pid,
      port: r.port,
      secret: r.secret,
      startedAt: r.started_at,
      lastActivity: r.last_activity,
    }));
  }

  save(r: ServerRecord): void {
    this.upsert.run(r.owner, r.pid, r.port, r.secret, r.startedAt, r.lastActivity);
  }

  /** Only deletes the record of that very process, so a late exit of an old server cannot
   * erase the record of its successor. */
  remove(owner: string, pid: number): void {
    this.deleteOne.run(owner, pid);
  }

  saveActivity(entries: { owner: string; pid: number; lastActivity: number }[]): void {
    this.saveActivityAll(entries);
  }
}
