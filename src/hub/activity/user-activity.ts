import type { HubDatabase } from '../db.js';

/** Activity newer than what is stored reaches the database at most this often (JupyterHub: 30 s). */
const FLUSH_EVERY_MS = 30_000;

export interface ActivityTimes {
  /** When the hub first knew the account (ms since the epoch). */
  created: number;
  /** The latest activity of the user or of their server; undefined until there has been some. */
  lastActivity: number | undefined;
}

/**
 * When each account was created and when it was last active, kept across server stops and hub
 * restarts (JupyterHub's `created` and `last_activity`). Reads are from memory; activity is
 * recorded in memory at any rate and written in one transaction on a timer, so proxied traffic
 * never waits for the disk and the database sees a bounded number of writes. A crash loses at
 * most the activity of the last interval, never an account's creation time (written at once).
 */
export class UserActivity {
  private readonly times = new Map<string, ActivityTimes>();
  private readonly dirty = new Set<string>();
  private readonly timer: NodeJS.Timeout;
  private readonly insertCreated;
  private readonly saveLast;
  private readonly forget;

  constructor(
    private readonly db: HubDatabase,
    private readonly now: () => number = Date.now,
    flushEveryMs = FLUSH_EVERY_MS,
  ) {
    db.exec(`CREATE TABLE IF NOT EXISTS user_activity (
      name TEXT PRIMARY KEY,
      created_at INTEGER NOT NULL,
      last_activity INTEGER
    )`);
    this.insertCreated = db.prepare('INSERT OR IGNORE INTO user_activity (name, created_at) VALUES (?, ?)');
    // Never moves backwards, whatever order the writes come in.
    this.saveLast = db.prepare(
      'UPDATE user_activity SET last_activity = max(coalesce(last_activity, 0), ?) WHERE name = ?',
    );
    this.forget = db.prepare('DELETE FROM user_activity WHERE name = ?');
    const rows = db.prepare('SELECT name, created_at, last_activity FROM user_activity').all() as {
      name: string;
      created_at: number;
      last_activity: number | null;
    }[];
    for (const r of rows) this.times.set(r.name, { created: r.created_at, lastActivity: r.last_activity ?? undefined });
    this.timer = setInterval(() => this.flush(), flushEveryMs);
    this.timer.unref();
  }

  /** Gives every account in `names` a creation time (now, for those the hub had not seen). */
  ensureAccounts(names: Iterable<string>): void {
    const fresh = [...names].filter((n) => !this.times.has(n));
    if (fresh.length === 0) return;
    const at = this.now();
    this.db.transaction(() => {
      for (const name of fresh) this.insertCreated.run(name, at);
    })();
    for (const name of fresh) this.times.set(name, { created: at, lastActivity: undefined });
  }

  get(name: string): ActivityTimes | undefined {
    return this.times.get(name);
  }

  /** Records activity at `at` (default now) for a known account; older times than stored are ignored. */
  record(name: string, at: number = this.now()): void {
    const t = this.times.get(name);
    if (!t || (t.lastActivity !== undefined && t.lastActivity >= at)) return;
    t.lastActivity = at;
    this.dirty.add(name);
  }

  /** An account deleted through the API: its times go with it. */
  remove(name: string): void {
    this.times.delete(name);
    this.dirty.delete(name);
    this.forget.run(name);
  }

  /** Writes pending activity in one transaction. */
  flush(): void {
    if (this.dirty.size === 0) return;
    const pending = [...this.dirty].flatMap((name) => {
      const at = this.times.get(name)?.lastActivity;
      return at === undefined ? [] : [{ name, at }];
    });
    this.db.transaction(() => {
      for (const { name, at } of pending) this.saveLast.run(at, name);
    })();
    this.dirty.clear();
  }

  /** Flushes and stops the timer (the hub's close). */
  close(): void {
    clearInterval(this.timer);
    this.flush();
  }
}
