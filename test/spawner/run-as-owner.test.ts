/**
 * JupyterHub.spawner.isolation "system" (formerly run_as_owner) with real system accounts and the real `bin/flotilla server`.
 * Needs root (to create accounts and switch to them); skipped otherwise.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCookieSecret } from '../../src/hub/cookie-secret.js';
import { openHubDatabase, type HubDatabase } from '../../src/hub/db.js';
import { PROOF_HEADER, signProof } from '../../src/identity/proof.js';
import { sharedIsolation, Spawner, systemIsolation, type SpawnerOptions } from '../../src/spawner/index.js';
import { silentLogger } from '../../src/util/logger.js';
import { alive, REPO, waitFor } from './harness.js';
import {
  accountExists,
  accountsSkipReason as skipReason,
  addAccount as addSystemAccount,
  canManageAccounts as canRun,
  findFile,
  randomAccountName as randomName,
  removeAccounts,
  statusUids,
  type Account,
} from './os-accounts.js';

/** Pids of every live process whose command line names this owner (none must run as root). */
function processesFor(owner: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const at = args.indexOf('--owner');
      if (at >= 0 && args[at + 1] === owner) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

describe.skipIf(!canRun)(`isolation "system" with real system accounts${canRun ? '' : ` (skipped: ${skipReason})`}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-run-as-owner-'));
  const dataDir = join(dir, 'data');
  const cookieFile = join(dataDir, 'cookie_secret');
  const hubDb = join(dataDir, 'hub.sqlite');
  const outside = join(dir, 'outside.txt');
  const accounts: Account[] = [];
  const spawners: Spawner[] = [];
  const pids = new Set<number>();
  let db: HubDatabase;
  let alice: Account;
  let bob: Account;
  /** The spawner of the second test, whose servers the later tests adopt. */
  let running: Spawner;

  function addAccount(): Account {
    const account = addSystemAccount(dir);
    accounts.push(account);
    return account;
  }

  function spawner(overrides: Partial<SpawnerOptions> = {}): Spawner {
    const s = new Spawner({
      db,
      dataDir,
      hubOrigin: 'http://127.0.0.1:8000',
      startTimeoutMs: 30_000,
      httpTimeoutMs: 5_000,
      pollIntervalMs: 200,
      stopGraceMs: 5_000,
      idleTimeoutMs: 0,
      isolation: systemIsolation({ dataDir, hubSecretFiles: [cookieFile], logger: silentLogger() }),
      ...overrides,
    });
    s.on('change', (owner) => {
      const pid = s.info(owner)?.pid;
      if (pid) pids.add(pid);
    });
    spawners.push(s);
    return s;
  }

  function writeFlow(owner: string, name: string, text: string): void {
    const folder = join(dataDir, 'users', owner, 'workflows', name);
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'flow.yaml'), text);
  }

  async function play(owner: string, url: string, secret: string, workflow: string): Promise<void> {
    const target = `/user/${owner}/graphql`;
    const proof = signProof(secret, { user: owner, groups: [], owner, ownerGroups: [], via: 'token' }, { method: 'POST', target });
    const res = await fetch(`${url}${target}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', [PROOF_HEADER]: proof },
      body: JSON.stringify({ query: `mutation { play(workflows: ["${workflow}"]) { ok } }` }),
    });
    const body = (await res.json()) as { errors?: unknown };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.errors).toBeUndefined();
  }

  beforeAll(() => {
    // Owners' servers pass through the test folder to the data folder.
    chmodSync(dir, 0o711);
    writeFileSync(outside, 'root only\n', { mode: 0o600 });
    db = openHubDatabase(dataDir);
    loadCookieSecret(cookieFile);
    alice = addAccount();
    bob = addAccount();
  }, 120_000);

  afterAll(async () => {
    for (const s of spawners) s.close();
    for (const pid of pids) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // not a group leader, or gone
      }
    }
    removeAccounts(accounts);
    await waitFor('test processes to exit', () => [...pids].every((p) => !alive(p)), 15_000).catch(() => undefined);
    db?.close();
    rmSync(dir, { recursive: true, force: true });
    for (const a of accounts) expect(accountExists(a.name)).toBe(false);
  }, 60_000);

  it('makes the data folder passable only and the hub files root-only at start', () => {
    spawner();
    expect(statSync(dataDir).mode & 0o777).toBe(0o711);
    expect(statSync(join(dataDir, 'users')).mode & 0o777).toBe(0o711);
    for (const file of [hubDb, cookieFile]) {
      const st = statSync(file);
      expect({ file, uid: st.uid, mode: st.mode & 0o777 }).toEqual({ file, uid: 0, mode: 0o600 });
    }
  });

  it("runs each server and its tasks as the owner's account, which cannot read the hub's files or another owner's", async () => {
    const hub = spawner();
    running = hub;
    // Written by root, as a site migrating to isolation "system" would have them.
    writeFlow(bob.name, 'private', 'tasks:\n  a:\n    script: "true"\n');
    const probe = [
      'id -u',
      `cat ${hubDb} >/dev/null 2>&1 && echo hub-db:read || echo hub-db:denied`,
      `cat ${cookieFile} >/dev/null 2>&1 && echo cookie:read || echo cookie:denied`,
      `ls ${join(dataDir, 'users', bob.name, 'workflows')} >/dev/null 2>&1 && echo other:read || echo other:denied`,
      `ls ${dataDir} >/dev/null 2>&1 && echo list-data:read || echo list-data:denied`,
      'echo probe:done',
    ].join('; ');
    writeFlow(alice.name, 'probe', `tasks:\n  probe:\n    script: ${JSON.stringify(probe)}\n`);
    const ownerDir = join(dataDir, 'users', alice.name);
    symlinkSync(outside, join(ownerDir, 'link-out'));

    const bobInfo = await hub.start(bob.name);
    const info = await hub.start(alice.name);
    expect(statusUids(info.pid)).toEqual([alice.uid, alice.uid, alice.uid, alice.uid]);
    expect(statusUids(bobInfo.pid)[1]).toBe(bob.uid);

    // The owner folder and everything in it is the owner's, private; the link was not followed.
    for (const path of [ownerDir, join(ownerDir, 'workflows'), join(ownerDir, '.flotilla')]) {
      const st = statSync(path);
      expect({ path, uid: st.uid, gid: st.gid, mode: st.mode & 0o777 }).toEqual({ path, uid: alice.uid, gid: alice.gid, mode: 0o700 });
    }
    expect(statSync(join(ownerDir, 'workflows', 'probe', 'flow.yaml')).uid).toBe(alice.uid);
    expect(statSync(outside).uid).toBe(0);
    expect(lstatSync(join(ownerDir, 'link-out')).uid).toBe(0);
    const log = statSync(join(ownerDir, 'server.log'));
    expect({ uid: log.uid, gid: log.gid, mode: log.mode & 0o777 }).toEqual({ uid: 0, gid: alice.gid, mode: 0o640 });

    await play(alice.name, info.url, info.secret, 'probe');
    let out = '';
    await waitFor('the probe task to finish', () => {
      const file = findFile(join(ownerDir, 'runs', 'probe'), 'job.out');
      out = file ? readFileSync(file, 'utf8') : '';
      return out.includes('probe:done');
    }, 60_000);
    expect(out.trim().split('\n')).toEqual([String(alice.uid), 'hub-db:denied', 'cookie:denied', 'other:denied', 'list-data:denied', 'probe:done']);
    const jobOut = findFile(join(ownerDir, 'runs', 'probe'), 'job.out')!;
    expect(statSync(jobOut).uid).toBe(alice.uid);
  }, 120_000);

  it('adopts a server running as its owner; stops one recorded for the owner but running as another account', async () => {
    const alicePid = running.info(alice.name)!.pid;
    const bobPid = running.info(bob.name)!.pid;
    await running.stop(bob.name);
    expect(alive(bobPid)).toBe(false);
    running.close();
    // A server for bob that the hub recorded while isolation was "shared": it runs as root.
    const asRoot = spawner({ isolation: sharedIsolation });
    const rootInfo = await asRoot.start(bob.name);
    expect(statusUids(rootInfo.pid)[1]).toBe(0);
    asRoot.close();

    const next = spawner();
    await next.adoptAll();
    expect(next.info(alice.name)?.pid).toBe(alicePid);
    expect(next.info(bob.name)).toBeUndefined();
    await waitFor('the root-run server to be stopped', () => !alive(rootInfo.pid));
  }, 120_000);

  it('refuses to start a server for an owner without a system account, and runs nothing', async () => {
    const hub = spawner();
    const nobody = randomName();
    await expect(hub.start(nobody)).rejects.toThrow(`no system account named "${nobody}"; isolation "system" needs one per owner`);
    expect(hub.status(nobody)).toBe('stopped');
    expect(processesFor(nobody)).toEqual([]);
    expect(existsSync(join(dataDir, 'users', nobody, 'server.log'))).toBe(false);
  });

  it('refuses to create a system-isolation spawner when the hub is not root', () => {
    const script = `
      const { systemIsolation } = await import(${JSON.stringify(join(REPO, 'dist/spawner/index.js'))});
      try {
        systemIsolation({ dataDir: '/nonexistent', hubSecretFiles: [], logger: undefined });
        console.log('created');
      } catch (err) { console.log(err.message); }
      process.exit(0);`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { uid: alice.uid, gid: alice.gid, cwd: '/', encoding: 'utf8' });
    expect(out).toContain(`JupyterHub.spawner.isolation is "system", but the hub runs as uid ${alice.uid}, not root`);
  });
});
