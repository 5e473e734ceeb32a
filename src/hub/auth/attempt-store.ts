import type { HubDatabase } from '../db.js';

/** A counter's subject as stored: names are counted case-insensitively, addresses as address keys. */
export interface StoredSubject {
  name: string | null;
  address: string | null;
}

export interface StoredWindow {
  key: string;
  subject: StoredSubject;
  count: number;
  endsAt: number;
}

/** Where one table of attempt windows is kept: every change is written as it happens. */
export interface WindowTable {
  open(now: number): StoredWindow[];
  save(window: StoredWindow): void;
  remove(key: string): void;
  removeClosed(now: number): void;
}

/**
 * Sign-in attempt counters in the hub database, so that a restart of the hub (or a crash an
 * attacker provoked) does not hand out a fresh set of password guesses.
 */
export class LoginAttemptStore {
  private readonly stmts;

  constructor(private readonly db: HubDatabase) {
    db.exec(`CREATE TABLE IF NOT EXISTS login_attempts (
      kind TEXT NOT NULL,
      key TEXT NOT NULL,
      name TEXT,
      address TEXT,
      count INTEGER NOT NULL,
      ends_at INTEGER NOT NULL,
      PRIMARY KEY (kind, key)
    )`);
    this.stmts = {
      open: db.prepare<[string, number], { key: string; name: string | null; address: string | null; count: number; ends_at: number }>(
        'SELECT key, name, address, count, ends_at FROM login_attempts WHERE kind = ? AND ends_at > ?',
      ),
      save: db.prepare<[string, string, string | null, string | null, number, number]>(
        'INSERT OR REPLACE INTO login_attempts (kind, key, name, address, count, ends_at) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      remove: db.prepare<[string, string]>('DELETE FROM login_attempts WHERE kind = ? AND key = ?'),
      removeClosed: db.prepare<[string, number]>('DELETE FROM login_attempts WHERE kind = ? AND ends_at <= ?'),
    };
  }

  /** Runs `fn` in one transaction: the counters one attempt touches change together or not at all. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  table(kind: string): WindowTable {
    const { stmts } = this;
    return {
      open: (now) => stmts.open.all(kind, now).map((r) => ({ key: r.key, subject: { name: r.name, address: r.address }, count: r.count, endsAt: r.ends_at })),
      save: (w) => void stmts.save.run(kind, w.key, w.subject.name, w.subject.address, w.count, w.endsAt),
      remove: (key) => void stmts.remove.run(kind, key),
      removeClosed: (now) => void stmts.removeClosed.run(kind, now),
    };
  }
}
