/**
 * `bin/flotilla backup` as a real process, while another process keeps writing an owner's engine
 * database: every database is copied, each copy is sound and of one moment (the writer's pairs of
 * rows are never split). The command runs dist/: `npm run build` first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openHubDatabase } from '../../src/hub/db.js';
import { openEngineDatabase } from '../../src/storage/engine-database.js';
import { REPO, runFlotilla } from '../config/run-flotilla.js';
import { testConfig } from '../hub/helpers.js';
import { newServerSecret } from '../../src/identity/proof.js';
import request from 'supertest';
import { HUB_ORIGIN, proofFor } from '../server/helpers.js';
import { runServerProcess, type ServerProcess } from '../server/server-process.js';
import { processStartTicks } from '../../src/util/proc.js';

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

describe('bin/flotilla backup with workflow servers running', () => {
  let dir: string;
  let server: ServerProcess | undefined;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'flotilla-backup-running-'));
    testConfig(dir);
    openHubDatabase(dir).close();
    mkdirSync(join(dir, 'users', 'dave', 'workflows', 'nightly'), { recursive: true });
    writeFileSync(join(dir, 'users', 'dave', 'workflows', 'nightly', 'flow.yaml'), 'tasks:\n  a: { script: "true" }\n');
    // An owner whose "database" is a link to the hub's: root must not copy what it points at.
    mkdirSync(join(dir, 'users', 'eve', '.flotilla'), { recursive: true });
    symlinkSync(join(dir, 'hub.sqlite'), join(dir, 'users', 'eve', '.flotilla', 'engine.sqlite'));
    // One whose state folder is a link to a folder holding a real database that is not theirs.
    mkdirSync(join(dir, 'elsewhere'));
    new Database(join(dir, 'elsewhere', 'engine.sqlite')).exec('CREATE TABLE t (x)').close();
    mkdirSync(join(dir, 'users', 'frank'));
    symlinkSync(join(dir, 'elsewhere'), join(dir, 'users', 'frank', '.flotilla'));
  });
  afterAll(() => {
    server?.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it("copies a running server's database through its engine, refuses links, and backs up the rest", async () => {
    server = runServerProcess(['--owner', 'dave', '--data-dir', dir, '--hub-origin', HUB_ORIGIN]);
    const secret = newServerSecret();
    server.child.send({ type: 'start', secret, site: { workflowServer: {} }, groups: null });
    const report = await server.report;
    expect(report).toMatchObject({ type: 'listening' });
    // Dave plays his workflow: the engine's database now holds a run no other process can read.
    const graphql = '/user/dave/graphql';
    const played = await request(`http://127.0.0.1:${(report as { port: number }).port}`).post(graphql)
      .set(proofFor(secret, 'dave', { user: 'dave' }, 'POST', graphql))
      .send({ query: 'mutation { play(workflows: ["nightly"]) { ok } }' });
    expect(played.body).toEqual({ data: { play: [{ ok: true }] } });

    const run = await runFlotilla(['backup', '--config', join(dir, 'jupyter_config.json'), '--to', join(dir, 'backups')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `flotilla backup: eve not backed up: ${join(dir, 'users', 'eve', '.flotilla', 'engine.sqlite')} is not a regular file (a link?): not copied\n` +
        `flotilla backup: frank not backed up: ${join(dir, 'users', 'frank', '.flotilla')} is not a folder (a link?): not copied\n`,
    );
    const [folder] = readdirSync(join(dir, 'backups'));
    const target = join(dir, 'backups', folder!);
    expect(run.stdout).toBe(`backed up hub.sqlite and 1 owner's engine.sqlite (${/\(([\d.]+ MB)\)/.exec(run.stdout)?.[1]}) to ${target}\n`);
    expect(readdirSync(join(target, 'users'))).toEqual(['dave']);

    const copy = new Database(join(target, 'users', 'dave', 'engine.sqlite'), { readonly: true });
    expect(copy.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(copy.prepare('SELECT name FROM workflows').all()).toEqual([{ name: 'nightly' }]);
    expect(copy.prepare("SELECT name FROM tasks WHERE workflow = 'nightly'").all()).toEqual([{ name: 'a' }]);
    copy.close();
    // The server went on, and its snapshot did not stay behind in the owner's folder.
    expect(server.child.exitCode).toBeNull();
    expect(existsSync(join(dir, 'users', 'dave', '.flotilla', 'engine-snapshot.sqlite'))).toBe(false);
    expect(server.output()).toContain('backup snapshot written');
  });

  it("never signals a pid an owner's lock file names unless it is that owner's workflow server", async () => {
    // SIGUSR2 ends a process that does not handle it: the lock's pid must not be trusted.
    const victim = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await new Promise((started) => victim.once('spawn', started));
      const flotilla = join(dir, 'users', 'mallory', '.flotilla');
      mkdirSync(flotilla, { recursive: true });
      openEngineDatabase(join(flotilla, 'engine.sqlite')).close();
      writeFileSync(join(flotilla, 'engine.lock'), `${victim.pid} ${processStartTicks(victim.pid!)}\n`);
      const run = await runFlotilla(['backup', '--config', join(dir, 'jupyter_config.json'), '--to', join(dir, 'backups-mallory')]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`flotilla backup: mallory not backed up: ${join(flotilla, 'engine.lock')} names pid ${victim.pid}, which is not mallory's workflow server: not signalled, not copied\n`);
      expect(victim.exitCode).toBeNull();
      expect(victim.signalCode).toBeNull();
    } finally {
      victim.kill('SIGKILL');
    }
  });
});
