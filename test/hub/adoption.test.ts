import { afterAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { SESSION_COOKIE } from '../../src/hub/index.js';
import { cookieValue, signIn, startHub, waitFor, type HubFixture } from './helpers.js';

// Spawns real `bin/flotilla server` processes: dist/ must be built.
const SLOW = 180_000;
// The progress page on every visit, however fast the start (fast-start.test.ts has the other way).
const HUB = { spawner: { start_timeout: 90, poll_interval: 1, slow_spawn_timeout: 0 } };

describe('workflow servers outlive the hub and crashes are noticed', () => {
  const hubs: HubFixture[] = [];
  afterAll(async () => {
    const last = hubs[hubs.length - 1];
    if (last) for (const s of last.hub.context.servers.spawner.list()) await last.hub.context.servers.stop(s.owner);
    for (const h of hubs.slice(0, -1)) await h.close(true);
    await last?.close();
  }, SLOW);

  it('a restarted hub adopts the running server; a killed server is restarted by the next visit', async () => {
    const first = await startHub({ hub: HUB });
    hubs.push(first);
    const agent = first.agent();
    const { res } = await signIn(agent, 'alice');
    const cookie = `${SESSION_COOKIE}=${cookieValue(res.headers['set-cookie'], SESSION_COOKIE)}`;
    const profile = (url: string) => request(url).get('/user/alice/api/userprofile').set('Cookie', cookie).set('Accept', 'application/json');
    // A page visit starts the server; API calls only report that it is stopped.
    const visit = (url: string) => request(url).get('/user/alice/').set('Cookie', cookie).set('Accept', 'text/html');

    expect((await profile(first.url)).body.status).toBe('stopped');
    expect((await visit(first.url)).text).toContain('Starting');
    await waitFor('first start', async () => (await profile(first.url)).status === 200, 90_000);
    const pid = first.hub.context.servers.spawner.info('alice')!.pid;
    await first.hub.close();

    const second = await startHub({ dir: first.dir, hub: HUB });
    hubs.push(second);
    expect(second.hub.context.servers.status('alice')).toBe('running');
    expect(second.hub.context.servers.spawner.info('alice')!.pid).toBe(pid);
    const adopted = await profile(second.url);
    expect(adopted.status).toBe(200);
    expect(adopted.body).toMatchObject({ username: 'alice', owner: 'alice' });

    process.kill(pid, 'SIGKILL');
    await waitFor('the crash to be noticed', () => second.hub.context.servers.status('alice') === 'stopped', 30_000);
    expect((await profile(second.url)).body.status).toBe('stopped');
    expect(second.hub.context.servers.status('alice')).toBe('stopped');
    expect((await visit(second.url)).text).toContain('Starting');
    await waitFor('restart after the crash', async () => (await profile(second.url)).status === 200, 90_000);
    expect(second.hub.context.servers.spawner.info('alice')!.pid).not.toBe(pid);
  }, SLOW);
});
