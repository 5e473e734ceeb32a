/**
 * A hub SIGKILLed at any instant of a server start leaves one server for that owner or none,
 * never two: the start is recorded before the spawn, a server whose hub died before recording it
 * leaves by itself, and the next hub stops any half-started one it finds. Real hub processes
 * (bin/flotilla hub) and real workflow servers; the kill delays are seeded and bounded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { HtpasswdFile } from '../../src/htpasswd/index.js';
import { openHubDatabase } from '../../src/hub/db.js';
import { TokenStore } from '../../src/hub/tokens/token-store.js';
import { seededRandom } from '../../src/util/seeded-random.js';

const REPO = resolve(import.meta.dirname, '..', '..');
const ROUNDS = 5;
const SEED = 20261201;

/** Pids of live workflow-server processes of `owner` on `dataDir`, by their command lines. */
function serverPids(owner: string, dataDir: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const owner_ = argv[argv.indexOf('--owner') + 1];
    const dir = argv[argv.indexOf('--data-dir') + 1];
    if (argv.includes('server') && owner_ === owner && dir === dataDir) pids.push(Number(name));
  }
  return pids;
}

describe('a hub killed during a server start', () => {
  const root = mkdtempSync(join(tmpdir(), 'flotilla-hub-crash-'));
  const dataDir = join(root, 'data');
  const configFile = join(root, 'jupyter_config.json');
  let port = 0;
  let token = '';
  let hub: ChildProcess | undefined;
  let output = '';

  afterAll(async () => {
    hub?.kill('SIGKILL');
    for (const pid of serverPids('carol', dataDir)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    rmSync(root, { recursive: true, force: true });
  });

  async function startHub(): Promise<void> {
    output = '';
    hub = spawn(process.execPath, [join(REPO, 'bin', 'flotilla'), 'hub', '--config', configFile], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FLOTILLA_LOG_LEVEL: 'info' },
    });
    hub.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    hub.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const started = hub;
    await vi.waitFor(
      async () => {
        if (started.exitCode !== null) throw new Error(`the hub exited: ${output.slice(-2000)}`);
        const res = await fetch(`http://127.0.0.1:${port}/hub/api/user`, { headers: { Authorization: `token ${token}` } });
        expect(res.status).toBe(200);
      },
      { timeout: 60_000, interval: 100 },
    );
  }

  function api(method: string, path: string): Promise<Response> {
    return fetch(`http://127.0.0.1:${port}/hub/api${path}`, { method, headers: { Authorization: `token ${token}` } });
  }

  it('leaves one server or none, and the next start makes exactly one', async () => {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const htpasswd = join(root, 'htpasswd');
    await new HtpasswdFile(htpasswd).add('carol', 'carol-secret', 4);
    const db = openHubDatabase(dataDir);
    token = new TokenStore(db).create('carol', { note: 'crash test' }).token;
    db.close();
    // A free port for the hub: bind_url must name it before the hub starts.
    port = await new Promise<number>((done) => {
      const probe = createServer();
      probe.listen(0, '127.0.0.1', () => {
        const p = (probe.address() as AddressInfo).port;
        probe.close(() => done(p));
      });
    });
    writeFileSync(
      configFile,
      JSON.stringify({
        JupyterHub: {
          bind_url: `http://127.0.0.1:${port}`,
          data_dir: dataDir,
          authenticator: { htpasswd_file: htpasswd },
          spawner: { start_timeout: 60, poll_interval: 1, stop_grace: 5 },
        },
      }),
      { mode: 0o600 },
    );

    const random = seededRandom(SEED);
    for (let round = 0; round < ROUNDS; round++) {
      await startHub();
      const delay = Math.floor(random() * 1200);
      const asked = await api('POST', '/users/carol/server');
      expect([201, 202]).toContain(asked.status);
      await new Promise((r) => setTimeout(r, delay));
      hub!.kill('SIGKILL');
      await new Promise((r) => hub!.once('exit', r));
      // Whatever the instant, at most one server of carol's is left once the dust settles.
      await vi.waitFor(() => expect(serverPids('carol', dataDir).length).toBeLessThanOrEqual(1), { timeout: 15_000, interval: 100 });

      await startHub();
      const again = await api('POST', '/users/carol/server');
      expect([201, 202, 400]).toContain(again.status);
      await vi.waitFor(
        async () => {
          const user = (await (await api('GET', '/users/carol')).json()) as { server?: string | null; pending?: string | null };
          expect(user.pending ?? null).toBeNull();
          expect(user.server).toBeTruthy();
        },
        { timeout: 60_000, interval: 100 },
      );
      const pids = serverPids('carol', dataDir);
      expect(pids, `round ${round}, killed after ${delay} ms`).toHaveLength(1);
      // Stop it for the next round, then leave this hub.
      const stopped = await api('DELETE', '/users/carol/server');
      expect([202, 204]).toContain(stopped.status);
      await vi.waitFor(() => expect(serverPids('carol', dataDir)).toEqual([]), { timeout: 30_000, interval: 100 });
      hub!.kill('SIGKILL');
      await new Promise((r) => hub!.once('exit', r));
    }
  }, 600_000);
});
