import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { spawn } from 'node:child_process';
import { DynamicUids, numberInUse, processRunsAs, type NumberKnown } from '../../src/spawner/dynamic-uids.js';

describe('dynamic uids', () => {
  const dirs: string[] = [];
  const database = () => {
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-uids-'));
    dirs.push(dir);
    return join(dir, 'hub.sqlite');
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const nothingKnown: NumberKnown = async () => false;

  it('gives each owner a distinct uid, the same one after a restart on the same database', async () => {
    const file = database();
    let db = new Database(file);
    const first = new DynamicUids(db, { first: 70000, last: 70009 }, nothingKnown);
    const [alice, bob, aliceAgain] = await Promise.all([first.uidFor('alice'), first.uidFor('bob'), first.uidFor('alice')]);
    expect(alice).toBe(aliceAgain);
    expect(new Set([alice, bob]).size).toBe(2);
    db.close();
    db = new Database(file);
    const restarted = new DynamicUids(db, { first: 70000, last: 70009 }, nothingKnown);
    expect(await restarted.uidFor('bob')).toBe(bob);
    expect(await restarted.uidFor('alice')).toBe(alice);
    expect(restarted.recorded('carol')).toBeUndefined();
    db.close();
  });

  it('never hands out a number the passwd or group database knows', async () => {
    const db = new Database(database());
    const asked: string[] = [];
    const known: NumberKnown = async (kind, id) => {
      asked.push(`${kind}:${id}`);
      return (kind === 'passwd' && id === 70000) || (kind === 'group' && id === 70001);
    };
    const uids = new DynamicUids(db, { first: 70000, last: 70009 }, known);
    expect(await uids.uidFor('alice')).toBe(70002);
    expect(asked).toEqual(['passwd:70000', 'passwd:70001', 'group:70001', 'passwd:70002', 'group:70002']);
    db.close();
  });

  it('says the range is exhausted, naming the key and range, and allocates nothing', async () => {
    const db = new Database(database());
    const uids = new DynamicUids(db, { first: 70000, last: 70002 }, async (_kind, id) => id === 70001);
    await uids.uidFor('alice');
    await uids.uidFor('bob');
    await expect(uids.uidFor('carol')).rejects.toThrow(
      'no free uid left for "carol" in JupyterHub.spawner.dynamic_uids 70000-70002 (2 given to owners, the rest known to the passwd or group database or in use by a process); widen the range',
    );
    expect(uids.recorded('carol')).toBeUndefined();
    db.close();
  });

  // Another hub on this machine gives its owners numbers from the same default range, which no
  // passwd database lists: a number one of its processes runs as is not free.
  it.skipIf(process.getuid?.() !== 0)('skips a number a live process runs as, though no database lists it (needs root)', async () => {
    const busy = 70100;
    const sleeper = spawn('sleep', ['30'], { uid: busy, gid: busy, stdio: 'ignore' });
    try {
      await vi.waitFor(() => expect(processRunsAs(busy)).toBe(true));
      const db = new Database(database());
      const uids = new DynamicUids(db, { first: busy, last: busy + 1 }, numberInUse);
      expect(await uids.uidFor('alice')).toBe(busy + 1);
      db.close();
    } finally {
      sleeper.kill('SIGKILL');
    }
    await vi.waitFor(() => expect(processRunsAs(busy)).toBe(false));
  });

  it('keeps uids unique in the database even when written around the allocator', async () => {
    const db = new Database(database());
    const uids = new DynamicUids(db, { first: 70000, last: 70009 }, nothingKnown);
    const alice = await uids.uidFor('alice');
    expect(() => db.prepare('INSERT INTO owner_uids (owner, uid, allocated_at) VALUES (?, ?, ?)').run('mallory', alice, 0)).toThrow(/UNIQUE/);
    db.close();
  });
});
