import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { Spawner, type ServerLaunch, type SpawnerOptions } from '../../src/spawner/index.js';
import { ServerStore } from '../../src/spawner/server-store.js';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const FIXTURE = fileURLToPath(new URL('./fixtures/fake-server.mjs', import.meta.url));

/** The fixture's command line; `server` as a word, as in `bin/flotilla server`, so that a hub
 * recognises the process as a server of that owner. */
export function fixtureArgv(mode: string): (l: ServerLaunch) => string[] {
  return (l) => [FIXTURE, 'server', '--owner', l.owner, '--data-dir', l.dataDir, '--hub-origin', l.hubOrigin, '--mode', mode];
}

import { waitFor } from '../wait.js';
export { waitFor };

export { isAlive as alive } from '../../src/spawner/server-process.js';
import { isAlive as alive } from '../../src/spawner/server-process.js';

export function getJson(port: number, path: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null }));
    })
      .on('error', reject)
      .end();
  });
}

/** A temporary data directory, hub database and spawners on it; `cleanup()` kills every server
 * process group they started (servers are detached, so nothing else would) and removes it all. */
export class SpawnerHarness {
  readonly dir = mkdtempSync(join(tmpdir(), 'flotilla-spawner-'));
  readonly dataDir = join(this.dir, 'data');
  readonly db = new Database(join(this.dir, 'hub.sqlite'));
  private readonly spawners: Spawner[] = [];
  private readonly pids = new Set<number>();
  private readonly hubs: ChildProcess[] = [];

  constructor() {
    this.db.pragma('journal_mode = WAL');
    new ServerStore(this.db);
  }

  spawner(overrides: Partial<SpawnerOptions> = {}, mode = 'ok'): Spawner {
    const s = new Spawner({
      db: this.db,
      dataDir: this.dataDir,
      hubOrigin: 'http://127.0.0.1:8000',
      startTimeoutMs: 20_000,
      httpTimeoutMs: 5_000,
      pollIntervalMs: 100,
      stopGraceMs: 5_000,
      idleTimeoutMs: 0,
      serverArgv: fixtureArgv(mode),
      ...overrides,
    });
    s.on('change', (owner) => {
      const pid = s.info(owner)?.pid;
      if (pid) this.pids.add(pid);
    });
    this.spawners.push(s);
    return s;
  }

  track(pid: number): void {
    this.pids.add(pid);
  }

  /** The spawner's rows, as a hub at restart would find them. */
  storedRows(): { owner: string; pid: number; state: string }[] {
    return this.db.prepare('SELECT owner, pid, state FROM servers ORDER BY owner').all() as { owner: string; pid: number; state: string }[];
  }

  /** A hub of its own (a process on the same database) starting `owner`'s server; for killing. */
  hubProcess(owner: string, mode: string): ChildProcess {
    const script = `
      const { Spawner } = await import(${JSON.stringify(join(REPO, 'dist/spawner/index.js'))});
      const Database = (await import(${JSON.stringify(join(REPO, 'node_modules/better-sqlite3/lib/index.js'))})).default;
      const db = new Database(${JSON.stringify(join(this.dir, 'hub.sqlite'))});
      const spawner = new Spawner({ db, dataDir: ${JSON.stringify(this.dataDir)}, hubOrigin: 'http://127.0.0.1:8000', startTimeoutMs: 60000,
        httpTimeoutMs: 5000, pollIntervalMs: 1000, stopGraceMs: 5000, idleTimeoutMs: 0,
        serverArgv: (l) => ${JSON.stringify([FIXTURE, 'server', '--owner', owner, '--data-dir', this.dataDir, '--mode', mode])} });
      await spawner.start(${JSON.stringify(owner)}).catch(() => undefined);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
    this.hubs.push(child);
    return child;
  }

  /** The pid a hub recorded for a start still in progress. */
  async waitStartingPid(owner: string): Promise<number> {
    let pid = 0;
    await waitFor(`a starting record with a pid for ${owner}`, () => {
      pid = this.storedRows().find((r) => r.owner === owner && r.state === 'starting')?.pid ?? 0;
      return pid > 0;
    });
    this.pids.add(pid);
    return pid;
  }

  recordedPids(): number[] {
    return (this.db.prepare('SELECT pid FROM servers').all() as { pid: number }[]).map((r) => r.pid);
  }

  async cleanup(): Promise<void> {
    for (const s of this.spawners) s.close();
    for (const hub of this.hubs) hub.kill('SIGKILL');
    for (const pid of [...this.pids, ...this.recordedPids()]) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await waitFor('server processes to exit', () => [...this.pids].every((p) => !alive(p)), 10_000);
    this.db.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
