/**
 * `bin/flotilla server` as a real process, started the way the hub starts it: the start message
 * over the IPC channel, the listening report, health, site settings pushed later, adoption,
 * leaving when the hub goes before adopting it, clean exit on SIGTERM. Needs dist/ (npm run build).
 */
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import type { SiteSettings } from '../../src/identity/launch.js';
import { newServerSecret } from '../../src/identity/proof.js';
import { HUB_ORIGIN, proofFor, waitFor } from './helpers.js';
import { runServerProcess as run } from './server-process.js';

function site(siteAuthorization: unknown): SiteSettings {
  return { workflowServer: { site_authorization: siteAuthorization } };
}

describe('bin/flotilla server', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  function dataDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-cli-test-'));
    mkdirSync(join(dir, 'users', 'alice', 'workflows'), { recursive: true });
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  }

  const baseArgs = (dir: string) => ['--owner', 'alice', '--data-dir', dir, '--hub-origin', HUB_ORIGIN];

  it("refuses to start without the hub's start-up channel", async () => {
    const started = run(baseArgs(dataDir()), false);
    expect(await started.exit).toBe(2);
    expect(started.output()).toContain('the hub starts workflow servers');
  });

  it('refuses a non-loopback host, and says so on the channel', async () => {
    const started = run([...baseArgs(dataDir()), '--host', '0.0.0.0']);
    expect(await started.report).toEqual({ type: 'failed', message: '--host 0.0.0.0: the workflow server listens on loopback addresses only' });
    expect(await started.exit).toBe(2);
  });

  it('refuses a start message without a usable secret', async () => {
    const started = run(baseArgs(dataDir()));
    started.child.send({ type: 'start', secret: 'short', site: site({}), groups: null });
    expect(await started.report).toEqual({ type: 'failed', message: 'the start message has no usable secret' });
    expect(await started.exit).toBe(2);
  });

  it('reports its port, serves health to the hub, follows pushed site settings, exits on SIGTERM', async () => {
    const secret = newServerSecret();
    const started = run(baseArgs(dataDir()));
    cleanups.push(() => started.child.kill('SIGKILL'));
    started.child.send({ type: 'start', secret, site: site({ '*': { '*': { default: 'READ' } } }), groups: { ops: ['bob'] } });
    const report = await started.report;
    expect(report).toEqual({ type: 'listening', port: expect.any(Number), pid: started.child.pid });
    const url = `http://127.0.0.1:${(report as { port: number }).port}`;
    // The secret reached it without passing through its environment.
    expect(readFileSync(`/proc/${started.child.pid}/environ`, 'utf8')).not.toContain(secret);
    const health = await request(url).get('/_flotilla/health').set(proofFor(secret, 'alice', { user: null }, 'GET', '/_flotilla/health'));
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ status: 'ok', owner: 'alice', pid: started.child.pid });
    started.child.send({ type: 'adopted' });
    await waitFor('the server to leave the channel', () => started.output().includes('leaving the start-up channel'));

    const profile = '/user/alice/api/userprofile';
    // Someone who may read nothing is refused the profile: that is "nothing" too.
    const permissions = async () => {
      const res = await request(url).get(profile).set(proofFor(secret, 'alice', { user: 'bob' }, 'GET', profile));
      return res.status === 403 ? [] : res.body.permissions;
    };
    expect(await permissions()).toEqual(['read']);
    const target = '/_flotilla/site';
    await request(url).put(target).set(proofFor(secret, 'alice', { user: null }, 'PUT', target))
      .send(site({ '*': { '*': { default: ['READ', 'pause'] } } })).expect(200);
    expect(await permissions()).toEqual(['pause', 'read']);
    // An invalid site file, as the hub reports it: access users get nothing.
    await request(url).put(target).set(proofFor(secret, 'alice', { user: null }, 'PUT', target)).send({ error: 'bad site file' }).expect(200);
    expect(await permissions()).toEqual([]);
    // Only the hub may push.
    await request(url).put(target).set(proofFor(secret, 'alice', { user: 'alice' }, 'PUT', target)).send(site({})).expect(403);

    // Every decision is logged: who, what, allowed or refused, and why.
    await request(url).get('/user/alice/sharing').set(proofFor(secret, 'alice', { user: 'bob' }, 'GET', '/user/alice/sharing')).expect(403);
    await waitFor('the refusal in the log', () => started.output().includes('refused: bob owner-only sharing page'));

    started.child.kill('SIGTERM');
    expect(await started.exit).toBe(0);
  });

  it('loads its pages as the hub adopts it when it was started for a page visit', async () => {
    const secret = newServerSecret();
    const started = run(baseArgs(dataDir()));
    cleanups.push(() => started.child.kill('SIGKILL'));
    started.child.send({ type: 'start', secret, site: site({}), groups: null });
    const report = await started.report;
    started.child.send({ type: 'adopted', pageVisit: true });
    await waitFor('the pages loading', () => started.output().includes('started for a page visit: loading the pages now'));
    const url = `http://127.0.0.1:${(report as { port: number }).port}`;
    const page = await request(url).get('/user/alice/').set(proofFor(secret, 'alice', { user: 'alice' }, 'GET', '/user/alice/'));
    expect(page.status).toBe(200);
    expect(page.text).toContain('Your workflows');
    // Its script's imports are named for preloading, from the same release.
    expect(page.text).toMatch(/<link rel="modulepreload" href="\/user\/alice\/static\/v-[0-9a-f]{12}\/js\/gql\.js">/);
    started.child.kill('SIGTERM');
    expect(await started.exit).toBe(0);
  });

  it('leaves when the hub goes away before adopting it, so no unknown server runs on', async () => {
    const started = run(baseArgs(dataDir()));
    cleanups.push(() => started.child.kill('SIGKILL'));
    started.child.send({ type: 'start', secret: newServerSecret(), site: site({}), groups: null });
    expect((await started.report).type).toBe('listening');
    started.child.disconnect();
    expect(await started.exit).toBe(0);
    expect(started.output()).toContain('the hub went away before it recorded this server');
  });
});
