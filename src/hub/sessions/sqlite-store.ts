import session from 'express-session';
import type { HubDatabase } from '../db.js';

const DAY_MS = 86_400_000;
/** A touch moves the expiry in memory at once but reaches the database only this rarely. */
const TOUCH_WRITE_EVERY_MS = 3_600_000;
const SWEEP_EVERY_MS = 10 * 60_000;
const CACHE_LIMIT = 20_000;

interface Cached {
  json: string;
  expires: number;
  /** The expiry last written to the database. */
  storedExpires: number;
}

function sessionUser(json: string): unknown {
  return (JSON.parse(json) as { passport?: { user?: unknown } }).passport?.user;
}

/**
 * express-session store on the hub's sqlite database, with an in-memory cache in front so that
 * the hot path (every proxied request) reads no disk. Sessions survive a hub restart; expired
 * ones are swept on an unref'd timer.
 */
export class SqliteSessionStore extends session.Store {
  private readonly cache = new Map<string, Cached>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly stmts;

  constructor(
    db: HubDatabase,
    private readonly defaultMaxAgeMs: number = 14 * DAY_MS,
  ) {
    super();
    this.stmts = {
      get: db.prepare<[string], { data: string; expires: number }>('SELECT data, expires FROM sessions WHERE sid = ?'),
      set: db.prepare<[string, number, string]>(
        'INSERT INTO sessions (sid, expires, data) VALUES (?, ?, ?) ON CONFLICT(sid) DO UPDATE SET expires = excluded.expires, data = excluded.data',
      ),
      touch: db.prepare<[number, string]>('UPDATE sessions SET expires = ? WHERE sid = ?'),
      destroy: db.prepare<[string]>('DELETE FROM sessions WHERE sid = ?'),
      sweep: db.prepare<[number]>('DELETE FROM sessions WHERE expires < ?'),
      count: db.prepare<[number], { n: number }>('SELECT count(*) AS n FROM sessions WHERE expires >= ?'),
      clear: db.prepare('DELETE FROM sessions'),
      users: db.prepare<[], { user: string }>(`SELECT DISTINCT json_extract(data, '$.passport.user') AS user FROM sessions WHERE user IS NOT NULL`),
      destroyUser: db.prepare<[string]>(`DELETE FROM sessions WHERE json_extract(data, '$.passport.user') = ?`),
    };
    this.sweeper = setInterval(() => this.sweep(), SWEEP_EVERY_MS);
    this.sweeper.unref();
  }

  private expiryOf(sess: session.SessionData): number {
    const expires = sess.cookie?.expires;
    if (expires) return new Date(expires).getTime();
    return Date.now() + (sess.cookie?.maxAge ?? this.defaultMaxAgeMs);
  }

  private remember(sid: string, entry: Cached): void {
    this.cache.delete(sid);
    this.cache.set(sid, entry);
    if (this.cache.size > CACHE_LIMIT) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
  }

  override get(sid: string, callback: (err: unknown, session?: session.SessionData | null) => void): void {
    try {
      const now = Date.now();
      let entry = this.cache.get(sid);
      if (!entry) {
        const row = this.stmts.get.get(sid);
        if (row) {
          entry = { json: row.data, expires: row.expires, storedExpires: row.expires };
          this.remember(sid, entry);
        }
      }
      if (!entry || entry.expires <= now) {
        if (entry) this.destroy(sid);
        callback(null, null);
        return;
      }
      // A fresh object each time: express-session mutates what it is given.
      callback(null, JSON.parse(entry.json) as session.SessionData);
    } catch (err) {
      callback(err);
    }
  }

  override set(sid: string, sess: session.SessionData, callback?: (err?: unknown) => void): void {
    try {
      const expires = this.expiryOf(sess);
      const json = JSON.stringify(sess);
      this.stmts.set.run(sid, expires, json);
      this.remember(sid, { json, expires, storedExpires: expires });
      callback?.();
    } catch (err) {
      callback?.(err);
    }
  }

  override touch(sid: string, sess: session.SessionData, callback?: (err?: unknown) => void): void {
    try {
      const entry = this.cache.get(sid);
      const expires = this.expiryOf(sess);
      if (entry) {
        entry.expires = expires;
        if (expires - entry.storedExpires < TOUCH_WRITE_EVERY_MS) {
          callback?.();
          return;
        }
        entry.storedExpires = expires;
      }
      this.stmts.touch.run(expires, sid);
      callback?.();
    } catch (err) {
      callback?.(err);
    }
  }

  override destroy(sid: string, callback?: (err?: unknown) => void): void {
    try {
      this.cache.delete(sid);
      this.stmts.destroy.run(sid);
      callback?.();
    } catch (err) {
      callback?.(err);
    }
  }

  override length(callback: (err: unknown, length?: number) => void): void {
    try {
      callback(null, this.stmts.count.get(Date.now())?.n ?? 0);
    } catch (err) {
      callback(err);
    }
  }

  override clear(callback?: (err?: unknown) => void): void {
    try {
      this.cache.clear();
      this.stmts.clear.run();
      callback?.();
    } catch (err) {
      callback?.(err);
    }
  }

  /** Everyone signed in to a stored session, expired ones included. */
  signedInUsers(): Set<string> {
    return new Set(this.stmts.users.all().map((row) => row.user));
  }

  /** Signs the user out everywhere (an account that is gone); returns how many sessions went. */
  destroyUser(user: string): number {
    for (const [sid, entry] of this.cache) if (sessionUser(entry.json) === user) this.cache.delete(sid);
    return this.stmts.destroyUser.run(user).changes;
  }

  /** Drops expired sessions from the database and the cache; returns how many rows went. */
  sweep(now = Date.now()): number {
    for (const [sid, entry] of this.cache) if (entry.expires <= now) this.cache.delete(sid);
    return this.stmts.sweep.run(now).changes;
  }

  close(): void {
    clearInterval(this.sweeper);
    this.cache.clear();
  }
}
