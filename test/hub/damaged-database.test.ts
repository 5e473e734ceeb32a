/**
 * A damaged, empty or missing hub.sqlite is named and never silently replaced: refused at start
 * with the file and what to do, started fresh only when the administrator says so, and damage
 * found while running stops the hub process cleanly, naming the file. The processes run dist/:
 * `npm run build` first.
 */
import { existsSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { createHub } from '../../src/hub/index.js';
import { runFlotilla } from '../config/run-flotilla.js';
import { makeDataDir, startHub, testConfig, writeUsers } from './helpers.js';
import { freePort, startHubProcess, type HubProcess } from './hub-process.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A data directory whose hub has run once (sessions, tokens… and the marker). */
async function usedDataDir(): Promise<string> {
  const f = await startHub();
  await f.close(true);
  dirs.push(f.dir);
  return f.dir;
}

describe('hub.sqlite at start', () => {
  it('refuses a garbled file, naming it and saying what to do', async () => {
    const dir = makeDataDir();
    dirs.push(dir);
    await writeUsers(dir);
    const file = join(dir, 'hub.sqlite');
    writeFileSync(file, Buffer.alloc(8192, 0x5a));
    const config = testConfig(dir);
    expect(() => createHub(config)).toThrow(
      `${file} is not a SQLite database (damaged?); restore it from a backup (bin/flotilla backup) or move it away to start fresh`,
    );
    const run = await runFlotilla(['hub', '--config', join(dir, 'jupyter_config.json')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${file} is not a SQLite database (damaged?)`);
  });

  it('refuses an empty (0-byte) file after the hub has run, unless started with --start-fresh', async () => {
    const dir = await usedDataDir();
    const file = join(dir, 'hub.sqlite');
    truncateSync(file, 0);
    const config = testConfig(dir);
    expect(() => createHub(config)).toThrow(`${file} is empty (0 bytes) but ${join(dir, 'hub-state.marker')} says this hub has run before`);
    const run = await runFlotilla(['hub', '--config', join(dir, 'jupyter_config.json')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${file} is empty (0 bytes)`);
    expect(run.stderr).toContain('bin/flotilla hub --start-fresh');
    const fresh = createHub(config, { startFresh: true });
    await fresh.close();
    // Once started fresh, it is the hub's state again: no switch needed any more.
    await createHub(config).close();
  });

  it('refuses a missing file after the hub has run', async () => {
    const dir = await usedDataDir();
    const file = join(dir, 'hub.sqlite');
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
    expect(() => createHub(testConfig(dir))).toThrow(`${file} is missing but`);
    expect(existsSync(file)).toBe(false);
  });

  it('starts a new hub on a new data directory without being told', async () => {
    const f = await startHub();
    expect(existsSync(join(f.dir, 'hub-state.marker'))).toBe(true);
    await f.close();
  });
});

describe('hub.sqlite damaged while the hub runs', () => {
  let hub: HubProcess | undefined;
  afterAll(() => hub?.kill());

  it('answers 500, reports the file and stops the hub with a non-zero exit', async () => {
    const f = await startHub();
    const { token } = f.hub.context.tokens.create('alice', { note: 'damage drill' });
    await f.close(true);
    dirs.push(f.dir);
    const port = await freePort();
    testConfig(f.dir, { bind_url: `http://127.0.0.1:${port}` });
    hub = await startHubProcess(join(f.dir, 'jupyter_config.json'), port);
    await request(hub.url).get('/hub/api/users/alice/tokens').set('Authorization', `token ${token}`).expect(200);

    // Damage the api_tokens table as a failing disk would: its pages now point past the file's end.
    const file = join(f.dir, 'hub.sqlite');
    const db = new Database(file);
    const version = db.pragma('schema_version', { simple: true }) as number;
    db.unsafeMode(true); // lifts better-sqlite3's defensive mode, which forbids writable_schema
    db.pragma('writable_schema = ON');
    db.prepare("UPDATE sqlite_master SET rootpage = 99999 WHERE tbl_name = 'api_tokens'").run();
    db.pragma(`schema_version = ${version + 1}`);
    db.close();

    await request(hub.url).post('/hub/api/users/alice/tokens').set('Authorization', `token ${token}`).send({}).expect(500);
    const exit = await hub.exited;
    expect(exit.code).toBe(3);
    expect(hub.output()).toContain(`${file} is damaged (`);
    expect(hub.output()).toContain('restore it from a backup (bin/flotilla backup) or move it away to start fresh');
    expect(hub.output()).not.toContain('Uncaught');
  });
});
