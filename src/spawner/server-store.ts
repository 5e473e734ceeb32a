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

/**
 * A stored row: `starting` is written (and committed) before the process is spawned, with pid 0
 * until the spawn returns; `running` once the server reported its port and answered its health
 * check. A hub that finds `starting` rows at its start died mid-start: those processes are its
 * to stop, never to adopt.
 */
export type StoredServer = ServerRecord & { state: 'starting' | 'running' };

interface Row {
  owner: string;
  pid: number;
  port: number;
  secret: string;
  started_at: number;
  last_activity: number;
  state: string;
}

/** The spawner's own table in the hub database; every write is a single statement (atomic).
 * Statements are prepared once: activity is saved on every poll. */
export class ServerStore {
  private readonly selectAll: Statement<[], Row>;
  private readonly upsert: Statement<[string, number, number, string, number, number, string]>;
  private readonly updateStartingPid: Statement<[number, string]>;
  private readonly deleteOne: Statement<[string, number]>;
  private readonly deleteStarting: Statement<[string]>;
  private readonly updateActivity: Statement<[number, string, number]>;
  private readonly saveActivityAll: (entries: { owner: string; pid: number; lastActivity: number }[]) => void;

  constructor(db: Database) {
    db.exec(`CREATE TABLE IF NOT EXISTS servers (
      owner TEXT PRIMARY KEY,
      pid INTEGER NOT NULL,
      port INTEGER NOT NULL,
      secret TEXT NOT NULL,
      started_at INTEGER NOT NULL,
      last_activity INTEGER NOT NULL,
      state TEXT NOT NULL DEFAULT 'running'
    )`);
    // Databases from before start records: every row there was a running server.
    const columns = db.prepare('PRAGMA table_info(servers)').all() as { name: string }[];
    if (!columns.some((c) => c.name === 'state')) db.exec(`ALTER TABLE servers ADD COLUMN state TEXT NOT NULL DEFAULT 'running'`);
    this.selectAll = db.prepare('SELECT * FROM servers ORDER BY owner');
    this.upsert = db.prepare(
      `INSERT INTO servers (owner, pid, port, secret, started_at, last_activity, state)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(owner) DO UPDATE SET pid = excluded.pid, port = excluded.port,
         secret = excluded.secret, started_at = excluded.started_at,
         last_activity = excluded.last_activity, state = excluded.state`,
    );
    this.updateStartingPid = db.prepare(`UPDATE servers SET pid = ? WHERE owner = ? AND state = 'starting'`);
    this.deleteOne = db.prepare('DELETE FROM servers WHERE owner = ? AND pid = ?');
    this.deleteStarting = db.prepare(`DELETE FROM servers WHERE owner = ? AND state = 'starting'`);
    this.updateActivity = db.prepare('UPDATE servers SET last_activity = ? WHERE owner = ? AND pid = ?');
    this.saveActivityAll = db.transaction((entries) => {
      for (const e of entries) this.updateActivity.run(e.lastActivity, e.owner, e.pid);
    });
  }

  all(): StoredServer[] {
    return this.selectAll.all().map((r) => ({
      owner: r.owner,
      pid: r.pid,
      port: r.port,
      secret: r.secret,
      startedAt: r.started_at,
      lastActivity: r.last_activity,
      state: r.state === 'starting' ? 'starting' : 'running',
    }));
  }

  /** Before spawning: the owner has a server on its way (pid and port not known yet). */
  saveStarting(owner: string, secret: string, startedAt: number): void {
    this.upsert.run(owner, 0, 0, secret, startedAt, startedAt, 'starting');
  }

  setStartingPid(owner: string, pid: number): void {
    this.updateStartingPid.run(pid, owner);
  }

  /** The server is up: adoptable by a later hub. */
  saveRunning(r: ServerRecord): void {
    this.upsert.run(r.owner, r.pid, r.port, r.secret, r.startedAt, r.lastActivity, 'running');
  }

  /** Only deletes the record of that very process, so a late exit of an old server cannot
   * erase the record of its successor. */
  remove(owner: string, pid: number): void {
    this.deleteOne.run(owner, pid);
  }

  /** A start that failed leaves nothing behind. */
  removeStarting(owner: string): void {
    this.deleteStarting.run(owner);
  }

  saveActivity(entries: { owner: string; pid: number; lastActivity: number }[]): void {
    this.saveActivityAll(entries);
  }
}
