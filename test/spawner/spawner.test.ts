import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { newServerSecret } from '../../src/identity/proof.js';
import type { ServerStatus } from '../../src/spawner/index.js';
import { alive, getJson, SpawnerHarness, waitFor } from './harness.js';

let h: SpawnerHarness;

afterEach(async () => {
  await h?.cleanup();
});

describe('Spawner with a fixture server', () => {
  it('starts one server for concurrent starts, records it and reports changes', async () => {
    h = new SpawnerHarness();
    const s = h.spawner();
    const changes: [string, ServerStatus][] = [];
    s.on('change', (owner, status) => changes.push([owner, status]));
    const steps: string[] = [];
    s.on('step', (owner, step) => steps.push(`${owner} ${step}:${s.startStep(owner)}`));

    const [a, b, c] = await Promise.all([s.start('alice'), s.start('alice'), s.start('alice')]);
    // Each step of the start once, in order, while it is the start's current step.
    expect(steps).toEqual(['alice launched:launched', 'alice listening:listening']);
    expect(s.startStep('alice')).toBeUndefined();
    expect(b.pid).toBe(a.pid);
    expect(c.pid).toBe(a.pid);
    expect(a.url).toBe(`http://127.0.0.1:${a.port}`);
    expect(s.status('alice')).toBe('running');
    expect(s.info('alice')?.pid).toBe(a.pid);
    expect(changes).toEqual([
      ['alice', 'starting'],
      ['alice', 'running'],
    ]);
    expect(h.recordedPids()).toEqual([a.pid]);
    expect(s.list()).toEqual([expect.objectContaining({ owner: 'alice', pid: a.pid, status: 'running' })]);
    expect(JSON.stringify(s.list())).not.toContain(a.secret);

    // The secret came over the start-up channel: not in the arguments, not in the environment
    // (which a job would inherit and /proc/PID/environ would show), which holds nothing of the hub's.
    const state = await getJson(a.port, '/_fixture/state');
    expect(state.body.argv.join(' ')).not.toContain(a.secret);
    expect(JSON.stringify(state.body.env)).not.toContain(a.secret);
    expect(readFileSync(`/proc/${a.pid}/environ`, 'utf8')).not.toContain(a.secret);
    expect(state.body.adopted).toBe(true);
    for (const key of Object.keys(state.body.env)) {
      expect(['PATH', 'HOME', 'LANG', 'NODE_ENV'].includes(key) || key.startsWith('FLOTILLA_')).toBe(true);
    }
    // Output goes to the owner's server.log in a private directory.
    const ownerDir = join(h.dataDir, 'users', 'alice');
    expect(statSync(ownerDir).mode & 0o777).toBe(0o700);
    expect(state.body.cwd).toBe(ownerDir);
    expect(readFileSync(join(ownerDir, 'server.log'), 'utf8')).toContain('fake server for alice starting');
  });

  it('tells a server started for a page visit so as it adopts it, also when the visit joins a start under way', async () => {
    h = new SpawnerHarness();
    const s = h.spawner();
    const [alice] = await Promise.all([s.start('alice'), s.start('alice', { pageVisit: true })]);
    const bob = await s.start('bob');
    expect((await getJson(alice.port, '/_fixture/state')).body).toMatchObject({ adopted: true, pageVisit: true });
    expect((await getJson(bob.port, '/_fixture/state')).body).toMatchObject({ adopted: true, pageVisit: false });
  });

  it('refuses invalid owner names before touching the disk', async () => {
    h = new SpawnerHarness();
    const s = h.spawner();
    await expect(s.start('../etc')).rejects.toThrow(/invalid owner name/);
    expect(s.status('../etc')).toBe('stopped');
  });

  it('rejects with the log tail when the server exits during start-up, and can start again later', async () => {
    h = new SpawnerHarness();
    const broken = h.spawner({}, 'exit-early');
    await expect(broken.start('bob')).rejects.toThrow(/could not start \(exit code 3\)[\s\S]*site file is broken/);
    expect(broken.status('bob')).toBe('stopped');
    expect(h.recordedPids()).toEqual([]);
    broken.close();

    const fixed = h.spawner();
    const info = await fixed.start('bob');
    expect(alive(info.pid)).toBe(true);
  });

  it('reports the reason a server gives for not starting', async () => {
    h = new SpawnerHarness();
    const s = h.spawner({}, 'refuse');
    const steps: string[] = [];
    s.on('step', (_owner, step) => steps.push(step));
    await expect(s.start('carol')).rejects.toThrow(/could not start \(the fixture refuses to start\)/);
    expect(steps).toEqual(['launched']);
    expect(s.status('carol')).toBe('stopped');
    expect(h.storedRows()).toEqual([]);
  });

  it('kills a server that never reports that it is listening and says so', async () => {
    h = new SpawnerHarness();
    const s = h.spawner({ startTimeoutMs: 3_000 }, 'never-ready');
    const err = await s.start('dave').catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/did not report that it was listening within 3 s and was stopped/);
    expect((err as Error).message).toContain('fake server for dave starting in mode never-ready');
    expect(s.status('dave')).toBe('stopped');
    expect(readFileSync(join(h.dataDir, 'users', 'dave', 'server.log'), 'utf8')).toContain('SIGTERM received');
    expect(h.recordedPids()).toEqual([]);
  });

  it('stops with SIGTERM, and with SIGKILL when SIGTERM is ignored', async () => {
    h = new SpawnerHarness();
    const polite = h.spawner();
    const p = await polite.start('erin');
    await polite.stop('erin');
    expect(alive(p.pid)).toBe(false);
    expect(polite.status('erin')).toBe('stopped');
    expect(readFileSync(join(h.dataDir, 'users', 'erin', 'server.log'), 'utf8')).toContain('SIGTERM received');
    polite.close();

    const stubborn = h.spawner({ stopGraceMs: 500 }, 'ignore-term');
    const q = await stubborn.start('frank');
    const statuses: ServerStatus[] = [];
    stubborn.on('change', (_o, st) => statuses.push(st));
    await stubborn.stop('frank');
    expect(alive(q.pid)).toBe(false);
    expect(statuses).toEqual(['stopping', 'stopped']);
    expect(readFileSync(join(h.dataDir, 'users', 'frank', 'server.log'), 'utf8')).toContain('ignoring SIGTERM');
    expect(h.recordedPids()).toEqual([]);
    // The next start works.
    const again = await stubborn.start('frank');
    expect(again.pid).not.toBe(q.pid);
  });

  it('notices a server that dies and starts a new one on the next start', async () => {
    h = new SpawnerHarness();
    const s = h.spawner();
    const first = await s.start('gina');
    process.kill(first.pid, 'SIGKILL');
    await waitFor('the death to be noticed', () => s.status('gina') === 'stopped');
    expect(s.info('gina')).toBeUndefined();
    expect(h.recordedPids()).toEqual([]);
    const second = await s.start('gina');
    expect(second.pid).not.toBe(first.pid);
  });

  it('a new hub adopts live servers, forgets dead or unverifiable ones, and notices later deaths', async () => {
    h = new SpawnerHarness();
    const old = h.spawner();
    const kept = await old.start('hank');
    const impostor = await old.start('ivy');
    old.close();

    // A record whose process is gone, and one whose secret no longer verifies.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    h.db.prepare(`INSERT INTO servers VALUES (?, ?, ?, ?, ?, ?, 'running')`).run('jack', dead, 1, newServerSecret(), 1, 1);
    h.db.prepare('UPDATE servers SET secret = ? WHERE owner = ?').run(newServerSecret(), 'ivy');

    const hub = h.spawner();
    await hub.adoptAll();
    expect(hub.status('hank')).toBe('running');
    expect(hub.info('hank')).toMatchObject({ pid: kept.pid, port: kept.port, secret: kept.secret });
    expect(hub.status('ivy')).toBe('stopped');
    expect(hub.status('jack')).toBe('stopped');
    expect(h.recordedPids()).toEqual([kept.pid]);
    expect(alive(impostor.pid)).toBe(true); // forgotten, not killed: it was not proven to be ours

    process.kill(kept.pid, 'SIGKILL');
    await waitFor('the poll to notice the adopted server died', () => hub.status('hank') === 'stopped');
    expect(h.recordedPids()).toEqual([]);
  });

  it('pushes group membership and site settings to running servers and to servers that start later', async () => {
    h = new SpawnerHarness();
    const s = h.spawner({ site: { workflowServer: { site_authorization: { '*': { '*': { default: 'READ' } } } } } });
    const a = await s.start('kate');
    expect((await getJson(a.port, '/_fixture/state')).body.site).toEqual({ workflowServer: { site_authorization: { '*': { '*': { default: 'READ' } } } } });
    await s.pushMembership({ ops: ['kate', 'liam'] });
    await s.pushSite({ error: 'the site file is invalid' });
    const state = (await getJson(a.port, '/_fixture/state')).body;
    expect(state.membership).toEqual({ ops: ['kate', 'liam'] });
    expect(state.site).toEqual({ error: 'the site file is invalid' });
    // A later server gets both in its start message, with no push needed.
    const b = await s.start('liam');
    const later = (await getJson(b.port, '/_fixture/state')).body;
    expect(later.membership).toEqual({ ops: ['kate', 'liam'] });
    expect(later.site).toEqual({ error: 'the site file is invalid' });
  });

  it('a server whose hub dies before recording it exits by itself; the next hub clears the half-made record', async () => {
    h = new SpawnerHarness();
    // A hub in a process of its own, killed while its server is still starting.
    const hub = h.hubProcess('olga', 'never-ready');
    const pid = await h.waitStartingPid('olga');
    expect(h.storedRows()).toEqual([{ owner: 'olga', pid, state: 'starting' }]);
    hub.kill('SIGKILL');
    await waitFor('the orphaned server to leave by itself', () => !alive(pid));
    const next = h.spawner();
    await next.adoptAll();
    expect(next.status('olga')).toBe('stopped');
    expect(h.storedRows()).toEqual([]);
  });

  it('the next hub stops a half-started server that is still alive before anything else starts for that owner', async () => {
    h = new SpawnerHarness();
    const hub = h.hubProcess('pete', 'stay');
    const pid = await h.waitStartingPid('pete');
    hub.kill('SIGKILL');
    const next = h.spawner();
    await next.adoptAll();
    expect(alive(pid)).toBe(false);
    expect(h.storedRows()).toEqual([]);
    const fresh = await next.start('pete');
    expect(fresh.pid).not.toBe(pid);
  });

  it('culls idle servers but not ones holding an open WebSocket', async () => {
    h = new SpawnerHarness();
    const s = h.spawner({ idleTimeoutMs: 300, pollIntervalMs: 50 });
    const busy = await s.start('mia');
    s.wsOpened('mia');
    const idle = await s.start('noah');
    await waitFor('the idle server to be culled', () => s.status('noah') === 'stopped');
    expect(alive(idle.pid)).toBe(false);
    expect(s.status('mia')).toBe('running');
    s.wsClosed('mia');
    await waitFor('the server to be culled once its socket closed', () => s.status('mia') === 'stopped');
    expect(alive(busy.pid)).toBe(false);
  });

  it('keeps activity in memory and saves it to the database on the poll', async () => {
    h = new SpawnerHarness();
    const s = h.spawner({ pollIntervalMs: 50 });
    const info = await s.start('olga');
    const before = info.lastActivity;
    await waitFor('the clock to move', () => Date.now() > before + 5);
    s.touch('olga');
    const touched = s.info('olga')!.lastActivity;
    expect(touched).toBeGreaterThan(before);
    await waitFor('activity to be saved', () => {
      const row = h.db.prepare('SELECT last_activity FROM servers WHERE owner = ?').get('olga') as { last_activity: number };
      return row.last_activity === touched;
    });
  });
});
