import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSiteConfig } from '../../src/config/index.js';
import { openHubDatabase } from '../../src/hub/db.js';
import { TokenStore } from '../../src/hub/tokens/token-store.js';
import { ServiceTokens, serviceTokenFor } from '../../src/hub/tokens/service-tokens.js';
import { newServerSecret, ProofVerifier, signProof } from '../../src/identity/proof.js';

const dirs: string[] = [];
function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-tokens-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('token store: scopes and activity', () => {
  it('notes each use in memory and writes it to the database at most every 30 s per token', () => {
    const dir = dataDir();
    const db = openHubDatabase(dir);
    let now = Date.parse('2026-03-01T10:00:00Z');
    const store = new TokenStore(db, () => now);
    const { token, model } = store.create('alice', { scopes: ['read:users!user=alice', 'read:users!user=alice'] });
    expect(model.scopes).toEqual(['read:users!user=alice']);
    expect(model.last_activity).toBeNull();
    const stored = () => (db.prepare('SELECT last_activity FROM api_tokens WHERE id = ?').get(model.id) as { last_activity: number | null }).last_activity;
    expect(store.lookup(token)?.user).toBe('alice');
    expect(store.get('alice', model.id)?.last_activity).toBe('2026-03-01T10:00:00.000Z');
    expect(stored()).toBe(now);
    const first = now;
    now += 10_000;
    store.lookup(token);
    expect(store.get('alice', model.id)?.last_activity).toBe('2026-03-01T10:00:10.000Z');
    expect(stored()).toBe(first);
    now += 25_000;
    store.lookup(token);
    expect(stored()).toBe(now);
    db.close();
    // Scopes survive a restart.
    const again = new TokenStore(openHubDatabase(dir));
    expect(again.get('alice', model.id)?.scopes).toEqual(['read:users!user=alice']);
  });

  it('adds the scopes and last_activity columns to a database from before them; old tokens inherit', () => {
    const dir = dataDir();
    const old = new Database(join(dir, 'hub.sqlite'));
    old.exec(`CREATE TABLE api_tokens (id TEXT PRIMARY KEY, user_name TEXT NOT NULL, hash TEXT NOT NULL UNIQUE,
      note TEXT NOT NULL DEFAULT '', created_at INTEGER NOT NULL, expires_at INTEGER)`);
    old.prepare("INSERT INTO api_tokens VALUES ('abc', 'bob', 'h', '', 1, NULL)").run();
    old.close();
    const store = new TokenStore(openHubDatabase(dir));
    expect(store.get('bob', 'abc')).toMatchObject({ scopes: null, last_activity: null });
  });
});

describe('service tokens', () => {
  it('gives each service its configured token, or one made for it; finds the service by token', () => {
    const tokens = new ServiceTokens([
      { name: 'culler', api_token: 'a'.repeat(32), command: undefined, environment: {}, cwd: undefined },
      { name: 'stats', api_token: undefined, command: ['stats'], environment: {}, cwd: undefined },
    ]);
    expect(serviceTokenFor(tokens, 'culler')).toBe('a'.repeat(32));
    const made = serviceTokenFor(tokens, 'stats');
    expect(made).toMatch(/^[0-9a-f]{64}$/);
    expect(tokens.lookup(made)).toBe('stats');
    expect(tokens.lookup('a'.repeat(32))).toBe('culler');
    expect(tokens.lookup('b'.repeat(32))).toBeUndefined();
    expect(() => serviceTokenFor(tokens, 'ghost')).toThrow(/no service named "ghost"/);
  });

  it('accepts jupyterhub-idle-culler\'s role as its README writes it', () => {
    const config = parseSiteConfig(
      {
        JupyterHub: {
          services: [{ name: 'jupyterhub-idle-culler-service', command: ['python3', '-m', 'jupyterhub_idle_culler', '--timeout=3600'] }],
          load_roles: [{ name: 'jupyterhub-idle-culler-role', scopes: ['list:users', 'read:users:activity', 'read:servers', 'delete:servers'], services: ['jupyterhub-idle-culler-service'] }],
        },
      },
      '/tmp/jupyter_config.json',
      '/tmp',
      '/tmp/jupyter_config.json',
    );
    expect(config.JupyterHub.load_roles[0]!.scopes).toHaveLength(4);
  });
});

describe('proof of identity: a token\'s ceiling', () => {
  const secret = newServerSecret();
  const request = { method: 'POST', target: '/user/alice/graphql' };
  const identity = { user: 'bob', groups: [], owner: 'alice', ownerGroups: [], via: 'token' as const };

  it('carries the ceiling to the workflow server, and none when there is none', () => {
    const verifier = new ProofVerifier(secret, 'alice');
    const withCeiling = verifier.verify(signProof(secret, { ...identity, ceiling: ['read'] }, request), request);
    expect(withCeiling).toMatchObject({ ok: true, identity: { user: 'bob', ceiling: ['read'] } });
    const without = verifier.verify(signProof(secret, identity, request), request);
    expect(without.ok && 'ceiling' in without.identity).toBe(false);
    verifier.close();
  });

  it('refuses a proof whose ceiling names something that is not an operation', () => {
    const verifier = new ProofVerifier(secret, 'alice');
    const forged = signProof(secret, { ...identity, ceiling: ['read', 'sudo'] as never }, request);
    expect(verifier.verify(forged, request)).toEqual({ ok: false, reason: 'malformed proof' });
    verifier.close();
  });
});
