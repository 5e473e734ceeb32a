/**
 * `bin/flotilla backup` as a real process, while another process keeps writing an owner's engine
 * database: every database is copied, each copy is sound and of one moment (the writer's pairs of
 * rows are never split). The command runs dist/: `npm run build` first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openHubDatabase } from '../../src/hub/db.js';
import { openEngineDatabase } from '../../src/storage/engine-database.js';
import { REPO, runFlotilla } from '../config/run-flotilla.js';
import { testConfig } from '../hub/helpers.js';

/** Each transaction adds the same number to both tables, as fast as it can, for at most 30 s. */
const WRITER = `
const Database = require('better-sqlite3');
const db = new Database(process.argv[1]);
db.pragma('busy_timeout = 5000');
const add = db.transaction((n) => {
  db.prepare('INSERT INTO jobs (n) VALUES (?)').run(n);
  db.prepare('INSERT INTO ledger (n, pad) VALUES (?, ?)').run(n, 'x'.repeat(500));
});
const until = Date.now() + 30000;
let n = 0;
(function next() {
  if (Date.now() > until || n >= 1000000) return;
  for (let i = 0; i < 20; i++) add(++n);
  setImmediate(next);
})();
`;

describe('bin/flotilla backup', () => {
  let dir: string;
  let writer: ChildProcess | undefined;
  let aliceEngine: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'flotilla-backup-'));
    testConfig(dir);
    openHubDatabase(dir).close();
    for (const owner of ['alice', 'bob']) {
      const file = join(dir, 'users', owner, '.flotilla', 'engine.sqlite');
      mkdirSync(join(dir, 'users', owner, '.flotilla'), { recursive: true });
      const db = openEngineDatabase(file);
      db.exec('CREATE TABLE jobs (n INTEGER); CREATE TABLE ledger (n INTEGER, pad TEXT)');
      db.close();
      if (owner === 'alice') aliceEngine = file;
    }
    mkdirSync(join(dir, 'users', 'carol'), { recursive: true }); // no engine yet: nothing to copy
  });
  afterAll(() => {
    writer?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('copies the hub and every owner, consistently while a server writes', async () => {
    writer = spawn(process.execPath, ['-e', WRITER, aliceEngine], { cwd: REPO, stdio: 'ignore' });
    const live = new Database(aliceEngine, { readonly: true });
    const rows = () => (live.prepare('SELECT count(*) AS n FROM jobs').get() as { n: number }).n;
    await expect.poll(rows, { timeout: 20_000 }).toBeGreaterThan(2000);

    const run = await runFlotilla(['backup', '--config', join(dir, 'jupyter_config.json'), '--to', join(dir, 'backups')]);
    const during = rows();
    live.close();
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const [folder] = readdirSync(join(dir, 'backups'));
    expect(folder).toMatch(/^flotilla-backup-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ$/);
    const target = join(dir, 'backups', folder!);
    expect(run.stdout).toMatch(new RegExp(`^backed up hub\\.sqlite and 2 owners' engine\\.sqlite \\([\\d.]+ MB\\) to ${target}\\n$`));
    expect(readdirSync(join(target, 'users')).sort()).toEqual(['alice', 'bob']);

    const hub = new Database(join(target, 'hub.sqlite'), { readonly: true });
    expect(hub.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(hub.prepare("SELECT name FROM sqlite_master WHERE name = 'api_tokens'").get()).toBeDefined();
    hub.close();
    const copy = new Database(join(target, 'users', 'alice', 'engine.sqlite'), { readonly: true });
    expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
    const jobs = copy.prepare('SELECT count(*) AS n, max(n) AS last FROM jobs').get() as { n: number; last: number };
    const ledger = copy.prepare('SELECT count(*) AS n, max(n) AS last FROM ledger').get() as { n: number; last: number };
    copy.close();
    // Of one moment: the writer had written more than 2000 pairs, and no pair is split.
    expect(jobs.n).toBeGreaterThan(2000);
    expect(jobs.n).toBeLessThanOrEqual(during);
    expect(ledger).toEqual(jobs);
    expect(jobs.last).toBe(jobs.n);
  });

  it('names the data directory when there is no hub database to back up', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'flotilla-backup-empty-'));
    try {
      testConfig(empty);
      const run = await runFlotilla(['backup', '--config', join(empty, 'jupyter_config.json'), '--to', join(empty, 'backups')]);
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(`flotilla backup: ${join(empty, 'hub.sqlite')}: no such file; is ${empty} the hub's data_dir?\n`);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
