import { createHash, randomBytes } from 'node:crypto';
import type { HubDatabase } from '../db.js';

/** A token as the store keeps it; the API adds the scopes it resolves to (see api/tokens.ts). */
export interface TokenRecord {
  id: string;
  user: string;
  note: string;
  created: string;
  expires_at: string | null;
  last_activity: string | null;
  /** The scopes asked for at creation; null: everything the owner holds (`inherit`). */
  scopes: string[] | null;
}

interface Row {
  id: string;
  user_name: string;
  hash: string;
  note: string;
  created_at: number;
  expires_at: number | null;
  last_activity: number | null;
  scopes: string | null;
}

const PREFIX = 'flt_';
/** A token's last_activity reaches the database at most this often (JupyterHub: 30 s too). */
const ACTIVITY_WRITE_EVERY_MS = 30_000;

function hashOf(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function record(row: Row): TokenRecord {
  return {
    id: row.id,
    user: row.user_name,
    note: row.note,
    created: new Date(row.created_at).toISOString(),
    expires_at: iso(row.expires_at),
    last_activity: iso(row.last_activity),
    scopes: parseScopes(row.scopes),
  };
}

function parseScopes(stored: string | null): string[] | null {
  return stored === null ? null : (JSON.parse(stored) as string[]);
}

/** What authenticating a request needs of a token: whose it is and what it may do. */
export interface TokenHolder {
  id: string;
  user: string;
  /** As TokenRecord.scopes. */
  scopes: string[] | null;
}

/** Adds the columns a database from before scoped tokens lacks. */
function migrate(db: HubDatabase): void {
  const columns = new Set((db.prepare('PRAGMA table_info(api_tokens)').all() as { name: string }[]).map((c) => c.name));
  if (!columns.has('last_activity')) db.exec('ALTER TABLE api_tokens ADD COLUMN last_activity INTEGER');
  if (!columns.has('scopes')) db.exec('ALTER TABLE api_tokens ADD COLUMN scopes TEXT');
}

/**
 * API tokens. A token is 32 random bytes, shown once; only its SHA-256 is stored (a
 * high-entropy secret needs no slow hash). The hub is the only writer, so every row is mirrored
 * in memory and lookups never touch the disk, except to note a token's activity, at most once
 * per ACTIVITY_WRITE_EVERY_MS per token.
 */
export class TokenStore {
  private readonly byHash = new Map<string, Row>();
  /** When each token's activity was last written. */
  private readonly written = new Map<string, number>();
  private readonly stmts;

  constructor(
    db: HubDatabase,
    private readonly now: () => number = Date.now,
  ) {
    migrate(db);
    this.stmts = {
      all: db.prepare<[], Row>('SELECT * FROM api_tokens'),
      insert: db.prepare<[string, string, string, string, number, number | null, string | null]>(
        'INSERT INTO api_tokens (id, user_name, hash, note, created_at, expires_at, scopes) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      touch: db.prepare<[number, string]>('UPDATE api_tokens SET last_activity = ? WHERE id = ?'),
      remove: db.prepare<[string]>('DELETE FROM api_tokens WHERE id = ?'),
      removeUser: db.prepare<[string]>('DELETE FROM api_tokens WHERE user_name = ?'),
    };
    for (const row of this.stmts.all.all()) this.byHash.set(row.hash, row);
  }

  create(user: string, options: { note?: string; expiresInSeconds?: number; scopes?: readonly string[] }): { token: string; model: TokenRecord } {
    const token = PREFIX + randomBytes(32).toString('base64url');
    const now = this.now();
    const row: Row = {
      id: randomBytes(8).toString('hex'),
      user_name: user,
      hash: hashOf(token),
      note: options.note ?? '',
      created_at: now,
      expires_at: options.expiresInSeconds ? now + options.expiresInSeconds * 1000 : null,
      last_activity: null,
      scopes: options.scopes === undefined ? null : JSON.stringify([...new Set(options.scopes)].sort()),
    };
    this.stmts.insert.run(row.id, row.user_name, row.hash, row.note, row.created_at, row.expires_at, row.scopes);
    this.byHash.set(row.hash, row);
    return { token, model: record(row) };
  }

  list(user: string): TokenRecord[] {
    const now = this.now();
    return [...this.byHash.values()]
      .filter((r) => r.user_name === user && (r.expires_at === null || r.expires_at > now))
      .sort((a, b) => a.created_at - b.created_at)
      .map(record);
  }

  get(user: string, id: string): TokenRecord | undefined {
    for (const row of this.byHash.values()) if (row.id === id && row.user_name === user) return record(row);
    return undefined;
  }

  /** Returns whether a token of that user with that id existed. */
  revoke(user: string, id: string): boolean {
    for (const [hash, row] of this.byHash) {
      if (row.id === id && row.user_name === user) {
        this.stmts.remove.run(id);
        this.byHash.delete(hash);
        this.written.delete(id);
        return true;
      }
    }
    return false;
  }

  /** Everyone who holds a token, expired ones included. */
  holders(): Set<string> {
    return new Set([...this.byHash.values()].map((row) => row.user_name));
  }

  /** Deletes every token of the user (an account that is gone); returns how many went. */
  revokeAll(user: string): number {
    const { changes } = this.stmts.removeUser.run(user);
    for (const [hash, row] of this.byHash) {
      if (row.user_name !== user) continue;
      this.byHash.delete(hash);
      this.written.delete(row.id);
    }
    return changes;
  }

  /** The live token behind a secret, its use noted; undefined for unknown or expired ones.
   * Asked on every request with a token: no dates are formatted for it. */
  lookup(token: string): TokenHolder | undefined {
    if (!token.startsWith(PREFIX)) return undefined;
    const row = this.byHash.get(hashOf(token));
    const now = this.now();
    if (!row || (row.expires_at !== null && row.expires_at <= now)) return undefined;
    row.last_activity = now;
    if (now - (this.written.get(row.id) ?? 0) >= ACTIVITY_WRITE_EVERY_MS) {
      this.written.set(row.id, now);
      this.stmts.touch.run(now, row.id);
    }
    return { id: row.id, user: row.user_name, scopes: parseScopes(row.scopes) };
  }
}
