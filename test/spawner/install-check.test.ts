import Database from 'better-sqlite3';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, writeUsers } from '../hub/helpers.js';
import { InstallationCheck, permits } from '../../src/spawner/install-check.js';
import { isRoot } from './os-accounts.js';

describe('permits: the kernel\'s owner, group, other rule over stat results', () => {
  const who = { uid: 61184, gid: 61184 };
  it('uses the owner bits for the owner, even when they deny what others may', () => {
    expect(permits({ uid: 61184, gid: 0, mode: 0o700 }, who, 5)).toBe(true);
    expect(permits({ uid: 61184, gid: 0, mode: 0o077 }, who, 4)).toBe(false);
  });
  it('uses the group bits only for the primary gid (a server has no supplementary groups)', () => {
    expect(permits({ uid: 0, gid: 61184, mode: 0o750 }, who, 5)).toBe(true);
    expect(permits({ uid: 0, gid: 100, mode: 0o750 }, who, 1)).toBe(false);
  });
  it('uses the other bits for everyone else, and wants every bit asked for', () => {
    expect(permits({ uid: 0, gid: 0, mode: 0o711 }, who, 1)).toBe(true);
    expect(permits({ uid: 0, gid: 0, mode: 0o711 }, who, 5)).toBe(false);
    expect(permits({ uid: 0, gid: 0, mode: 0o755 }, who, 5)).toBe(true);
    expect(permits({ uid: 0, gid: 0, mode: 0o750 }, who, 4)).toBe(false);
  });
});

// Root reads everything whatever the bits; the check is about another uid, so it runs as root too.
describe.skipIf(!isRoot)(`the installation check on real folders${isRoot ? '' : ' (skipped: not running as root)'}`, () => {
  let dir: string;
  let code: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'flotilla-install-'));
    code = join(dir, 'install', 'dist');
    mkdirSync(code, { recursive: true });
    writeFileSync(join(code, 'main.js'), '');
    chmodSync(dir, 0o755);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names the folder a uid cannot pass through, and the uid; passes once fixed', async () => {
    const check = new InstallationCheck([{ path: join(code, 'main.js'), want: 4 }]);
    chmodSync(join(dir, 'install'), 0o700);
    await expect(check.check('alice', { uid: 61200, gid: 61200 })).rejects.toThrow(
      `the workflow server of "alice" runs as uid 61200 (gid 61200), which cannot pass through (x) ${join(dir, 'install')} (mode 0700, owner uid 0, group gid 0)`,
    );
    chmodSync(join(dir, 'install'), 0o711);
    chmodSync(join(code, 'main.js'), 0o600);
    await expect(check.check('alice', { uid: 61200, gid: 61200 })).rejects.toThrow(`which cannot read ${join(code, 'main.js')} (mode 0600`);
    chmodSync(join(code, 'main.js'), 0o644);
    await expect(check.check('alice', { uid: 61200, gid: 61200 })).resolves.toBeUndefined();
  });

  it('says which required path is missing', async () => {
    const check = new InstallationCheck([{ path: join(dir, 'no-such-folder'), want: 5 }]);
    await expect(check.check('bob', { uid: 61201, gid: 61201 })).rejects.toThrow(`the workflow server of "bob" needs ${join(dir, 'no-such-folder')}, which is missing (ENOENT)`);
  });
});

describe.skipIf(!isRoot)(`a hub whose data folder a dynamic uid cannot reach${isRoot ? '' : ' (skipped: not running as root)'}`, () => {
  it("refuses the start, naming the folder and the owner's uid, and runs nothing", async () => {
    const parent = mkdtempSync(join(tmpdir(), 'flotilla-closed-'));
    const dataDir = join(parent, 'data');
    mkdirSync(dataDir);
    await writeUsers(dataDir);
    const f = await startHub({ dir: dataDir });
    try {
      const spawner = f.hub.context.servers.spawner;
      const start = spawner.start('alice');
      await expect(start).rejects.toThrow(/runs as uid \d+ \(gid \d+\), which cannot pass through \(x\) /);
      const message = await start.catch((err: Error) => err.message);
      const db = new Database(join(dataDir, 'hub.sqlite'), { readonly: true });
      const uid = db.prepare('SELECT uid FROM owner_uids WHERE owner = ?').get('alice') as { uid: number };
      db.close();
      expect(message).toContain(`the workflow server of "alice" runs as uid ${uid.uid} (gid ${uid.uid}), which cannot pass through (x) ${parent} (mode 0700`);
      expect(spawner.status('alice')).toBe('stopped');
    } finally {
      await f.close();
      rmSync(parent, { recursive: true, force: true });
    }
  }, 60_000);
});
