/**
 * `bin/flotilla server` as a real process: refusals at start, health for the hub, SIGHUP
 * re-reading the site file, clean exit on SIGTERM. Needs dist/ (npm run build).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { newServerSecret, SECRET_ENV } from '../../src/identity/proof.js';
import { HUB_ORIGIN, proofFor, waitFor } from './helpers.js';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'flotilla');

interface Started {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}

function run(args: string[], env: Record<string, string | undefined>): Started {
  const child = spawn(process.execPath, [BIN, 'server', ...args], {
    env: { ...process.env, ...env, FLOTILLA_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += String(d)));
  child.stderr!.on('data', (d) => (output += String(d)));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exit };
}

describe('bin/flotilla server', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  function dataDir(site: unknown): { dir: string; site: string } {
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-cli-test-'));
    mkdirSync(join(dir, 'users', 'alice', 'workflows'), { recursive: true });
    const siteFile = join(dir, 'site.json');
    writeFileSync(siteFile, JSON.stringify({ WorkflowServer: { site_authorization: site } }));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return { dir, site: siteFile };
  }

  const baseArgs = (dir: string, site: string) => ['--owner', 'alice', '--data-dir', dir, '--config', site, '--port', '0', '--hub-origin', HUB_ORIGIN];

  it('refuses to start without the secret', async () => {
    const { dir, site } = dataDir({});
    const started = run(baseArgs(dir, site), { [SECRET_ENV]: undefined });
    expect(await started.exit).toBe(2);
    expect(started.output()).toContain(SECRET_ENV);
  });

  it('refuses a non-loopback host', async () => {
    const { dir, site } = dataDir({});
    const started = run([...baseArgs(dir, site), '--host', '0.0.0.0'], { [SECRET_ENV]: newServerSecret() });
    expect(await started.exit).toBe(2);
    expect(started.output()).toContain('loopback');
  });

  it('serves health to the hub, re-reads the site file on SIGHUP, exits on SIGTERM', async () => {
    const { dir, site } = dataDir({ '*': { '*': { default: 'READ' } } });
    const secret = newServerSecret();
    const started = run(baseArgs(dir, site), { [SECRET_ENV]: secret });
    cleanups.push(() => started.child.kill('SIGKILL'));
    const port = await waitFor(() => /"port":(\d+).*workflow server listening/.exec(started.output())?.[1], 'the listening line');
    const url = `http://127.0.0.1:${port}`;
    const health = await request(url).get('/_flotilla/health').set(proofFor(secret, 'alice', { user: null }, 'GET', '/_flotilla/health'));
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok', owner: 'alice', pid: started.child.pid });

    const profile = '/user/alice/api/userprofile';
    const permissions = async () =>
      (await request(url).get(profile).set(proofFor(secret, 'alice', { user: 'bob' }, 'GET', profile))).body.permissions;
    expect(await permissions()).toEqual(['read']);
    writeFileSync(site, JSON.stringify({ WorkflowServer: { site_authorization: { '*': { '*': { default: ['READ', 'pause'] } } } } }));
    started.child.kill('SIGHUP');
    await waitFor(async () => JSON.stringify(await permissions()) === '["pause","read"]', 'the new site file to apply');
    // Every decision is logged: who, what, allowed or refused, and why.
    await request(url).get('/user/alice/').set(proofFor(secret, 'alice', { user: 'bob' }, 'GET', '/user/alice/')).expect(200);
    await request(url).get('/user/alice/sharing').set(proofFor(secret, 'alice', { user: 'bob' }, 'GET', '/user/alice/sharing')).expect(403);
    await waitFor(() => started.output().includes('refused: bob owner-only sharing page'), 'the refusal in the log');
    expect(started.output()).toMatch(/"user":"bob".*"operations":\["read"\],"allowed":true.*"msg":"allowed: bob read on workflow list page: permitted/);

    started.child.kill('SIGTERM');
    expect(await started.exit).toBe(0);
  });
});
