/**
 * Which isolation a hub runs, said out loud: `shared` only when not root, with a warning at start,
 * on the admin page and in `config check`; refused as root; run_as_owner as the old spelling.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARED_MODE_WARNING } from '../../src/config/index.js';
import { createHub } from '../../src/hub/index.js';
import { runFlotilla } from '../config/run-flotilla.js';
import { accountsSkipReason, addAccount, canManageAccounts, isRoot, removeAccounts, type Account } from '../spawner/os-accounts.js';
import { REPO } from '../spawner/harness.js';
import { makeDataDir, PASSWORDS, signIn, testConfig, waitFor, writeUsers } from './helpers.js';

function capturingLogger(): { logger: pino.Logger; lines: { level: number; msg: string }[] } {
  const lines: { level: number; msg: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as { level: number; msg: string });
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

describe.skipIf(!isRoot)(`a hub started as root${isRoot ? '' : ' (skipped: not running as root)'}`, () => {
  it('refuses isolation "shared", saying why and what to use instead', () => {
    const dir = makeDataDir();
    try {
      expect(() => createHub(testConfig(dir, { spawner: { isolation: 'shared' } }))).toThrow(
        'JupyterHub.spawner.isolation is "shared", but the hub runs as root: every workflow server and task would run as root. ' +
          'Use isolation "dynamic" (the default as root) or "system", or run the hub as an unprivileged account',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes run_as_owner as isolation "system", logging how to migrate', async () => {
    const dir = makeDataDir();
    const { logger, lines } = capturingLogger();
    const hub = createHub(testConfig(dir, { spawner: { run_as_owner: true } }), { logger });
    try {
      expect(lines.filter((l) => l.level === 40).map((l) => l.msg)).toEqual([
        'JupyterHub.spawner.run_as_owner is the old spelling of JupyterHub.spawner.isolation "system"; replace "run_as_owner": true with "isolation": "system"',
      ]);
    } finally {
      await hub.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!canManageAccounts)(`isolation "shared" for a hub run by an unprivileged account${canManageAccounts ? '' : ` (skipped: ${accountsSkipReason})`}`, () => {
  let dir: string;
  let site: string;
  let account: Account;
  let hub: ChildProcess;
  let output = '';
  let url = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flotilla-shared-'));
    site = join(dir, 'jupyter_config.json');
    account = addAccount(dir);
    await writeUsers(join(dir, 'data'), { admin: PASSWORDS.admin! });
    writeFileSync(site, JSON.stringify({ JupyterHub: { bind_url: 'http://127.0.0.1:0', authenticator: { admin_users: ['admin'] } } }), { mode: 0o600 });
    for (const path of [dir, site, join(dir, 'data'), ...readdirSync(join(dir, 'data')).map((f) => join(dir, 'data', f))]) chownSync(path, account.uid, account.gid);
    hub = spawn(process.execPath, [join(REPO, 'bin', 'flotilla'), 'hub', '--config', site], {
      cwd: dir,
      uid: account.uid,
      gid: account.gid,
      env: { PATH: process.env.PATH, FLOTILLA_LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    hub.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    hub.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    await waitFor('the hub to listen', () => /hub listening on .*\(127\.0\.0\.1:(\d+)\)/.test(output) || hub.exitCode !== null, 30_000);
    const port = /hub listening on .*\(127\.0\.0\.1:(\d+)\)/.exec(output)?.[1];
    expect(port, output).toBeDefined();
    url = `http://127.0.0.1:${port}`;
  }, 120_000);

  afterAll(async () => {
    if (hub?.exitCode === null) {
      hub.kill('SIGTERM');
      await waitFor('the hub to stop', () => hub.exitCode !== null || hub.signalCode !== null, 15_000).catch(() => hub.kill('SIGKILL'));
    }
    if (account) removeAccounts([account]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('warns at start that every signed-in user can read the hub\'s secrets, and how to run safely', () => {
    const warnings = output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: number; msg: string })
      .filter((l) => l.level === 40)
      .map((l) => l.msg);
    expect(warnings).toContain(SHARED_MODE_WARNING);
    expect(SHARED_MODE_WARNING).toContain('start the hub as root with JupyterHub.spawner.isolation "dynamic"');
  });

  it('shows the warning as a banner on the admin page', async () => {
    const admin = request.agent(url);
    await signIn(admin, 'admin');
    const page = await admin.get('/hub/admin');
    expect(page.status).toBe(200);
    const banner = /<div class="notice warn" id="isolation-warning"[^>]*>([\s\S]*?)<\/div>/.exec(page.text)?.[1] ?? '';
    expect(banner).toContain('every signed-in user can read the hub&#39;s secrets');
    expect(banner).toContain('start the hub as root with JupyterHub.spawner.isolation &#34;dynamic&#34;');
  });

  it('config check says it too, as a warning that does not fail the check', async () => {
    const result = await runFlotilla(['config', 'check', '--config', site], { cwd: dir, as: account });
    expect(result.stderr).toContain(`warning: for a hub started as uid ${account.uid}, ${SHARED_MODE_WARNING}`);
    expect(result.code).toBe(0);
  });
});
