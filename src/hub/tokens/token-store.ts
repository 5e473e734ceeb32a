import { createHash, randomBytes } from 'node:crypto';
import type { HubDatabase } from '../db.js';

export interface TokenModel {
  id: string;
  user: string;
  note: string;
  created: string;
  expires_at: string | null;
}

interface Row {
  id: string;
  user_name: string;
  hash: string;
  note: string;
  created_at: number;
  expires_at: number | null;
}

const PREFIX = 'flt_';

function hashOf(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function model(row: Row): TokenModel {
  return {
    id: row.id,
    user: row.user_name,
    note: row.note,
    created: new Date(row.created_at).toISOString(),
    expires_at: row.expires_at === null ? null : new Date(row.expires_at).toISOString(),
  };
}

/**
 * API tokens. A token is 32 random bytes, shown once; only its SHA-256 is stored (a
 * high-entropy secret needs no slow hash). The hub is the only writer, so every row is mirrored
 * in memory and lookups never touch the disk.
 */
export class TokenStore {
  private readonly byHash = new Map<string, Row>();
  private readonly stmts;

  constructor(db: HubDatabase) {
    this.stmts = {
      all: db.prepare<[], Row>('SELECT * FROM api_tokens'),
      insert: db.prepare<[string, string, string, string, number, number | null]>(
        'INSERT INTO api_tokens (id, user_name, hash, note, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      remove: db.prepare<[string]>('DELETE FROM api_tokens WHERE id = ?'),
      removeUser: db.prepare<[string]>('DELETE FROM api_tokens WHERE user_name = ?'),
    };
    for (const row of this.stmts.all.all()) this.byHash.set(row.hash, row);
  }

  create(user: string, options: { note?: string; expiresInSeconds?: number }): { token: string; model: TokenModel } {
    const token = PREFIX + randomBytes(32).toString('base64url');
    const now = Date.now();
    const row: Row = {
      id: randomBytes(8).toString('hex'),
      user_name: user,
      hash: hashOf(token),
      note: options.note ?? '',
      created_at: now,
      expires_at: options.expiresInSeconds ? now + options.expiresInSeconds * 1000 : null,
    };
    this.stmts.insert.run(row.id, row.user_name, row.hash, row.note, row.created_at, row.expires_at);
    this.byHash.set(row.hash, row);
    return { token, model: model(row) };
  }

  list(user: string): TokenModel[] {
    const now = Date.now();
    return [...this.byHash.values()]
      .filter((r) => r.user_name === user && (r.expires_at === null || r.expires_at > now))
      .sort((a, b) => a.created_at - b.created_at)
      .map(model);
  }

  get(user: string, id: string): TokenModel | undefined {
    for (const row of this.byHash.values()) if (row.id === id && row.user_name === user) return model(row);
    return undefined;
  }

  /** Returns whether a token of that user with that id existed. */
  revoke(user: string, id: string): boolean {
    for (const [hash, row] of this.byHash) {
      if (row.id === id && row.user_name === user) {
        this.stmts.remove.run(id);
        this.byHash.delete(hash);
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
    for (const [hash, row] of this.byHash) if (row.user_name === user) this.byHash.delete(hash);
    return changes;
  }

  /** The owner and id of a live token; undefined for unknown or expired ones. */
  lookup(token: string): { user: string; id: string } | undefined {
    if (!token.startsWith(PREFIX)) return undefined;
    const row = this.byHash.get(hashOf(token));
    if (!row || (row.expires_at !== null && row.expires_at <= Date.now())) return undefined;
    return { user: row.user_name, id: row.id };
  }
}
