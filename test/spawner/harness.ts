import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { Spawner, type SpawnerOptions } from '../../src/spawner/index.js';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const FIXTURE = fileURLToPath(new URL('./fixtures/fake-server.mjs', import.meta.url));

/** The fixture and bin/flotilla import dist/, so the tests build it once. */
export function buildDist(): void {
  try {
    execFileSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
      cwd: REPO,
      stdio: 'pipe',
    });
  } catch {
    // tsc exits non-zero when any file in the tree has a type error, yet still emits; other
    // parts are being written at the same time, so only the emitted files matter here.
  }
}

export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

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

  constructor() {
    this.db.pragma('journal_mode = WAL');
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
      serverArgv: (l) => [FIXTURE, '--owner', l.owner, '--port', String(l.port), '--data-dir', l.dataDir, '--hub-origin', l.hubOrigin, '--mode', mode],
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

  recordedPids(): number[] {
    return (this.db.prepare('SELECT pid FROM servers').all() as { pid: number }[]).map((r) => r.pid);
  }

  async cleanup(): Promise<void> {
    for (const s of this.spawners) s.close();
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
