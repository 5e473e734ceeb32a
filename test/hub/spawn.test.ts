import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { SESSION_COOKIE } from '../../src/hub/index.js';
import { openGraphqlSocket } from './graphql-socket.js';
import { cookieValue, signIn, startHub, waitFor, xsrfFrom, type HubFixture } from './helpers.js';

// These tests spawn real `bin/flotilla server` processes: dist/ must be built (npm run build).
const SLOW = 120_000;

describe('spawn on visit and proxying to a real workflow server', () => {
  let f: HubFixture;
  let aliceCookie: string;
  let bobToken: string;
  let adminXsrf: string;
  let admin: ReturnType<HubFixture['agent']>;

  beforeAll(async () => {
    f = await startHub({
      hub: {
        load_roles: [{ name: 'look', scopes: ['access:servers!user=alice'], users: ['bob'] }],
        // The progress page every time, however fast the start (fast-start.test.ts has the other way).
        spawner: { start_timeout: 90, poll_interval: 1, slow_spawn_timeout: 0 },
      },
      server: { site_authorization: { '*': { 'group:readers': { default: 'READ' } } } },
    });
    const flow = join(f.dir, 'users', 'alice', 'workflows', 'hello');
    mkdirSync(flow, { recursive: true });
    writeFileSync(join(flow, 'flow.yaml'), 'tasks:\n  greet:\n    script: echo hello\n');
    const alice = f.agent();
    const signed = await signIn(alice, 'alice');
    aliceCookie = `${SESSION_COOKIE}=${cookieValue(signed.res.headers['set-cookie'], SESSION_COOKIE)}`;
    admin = f.agent();
    adminXsrf = (await signIn(admin, 'admin')).xsrf;
    bobToken = (await admin.post('/hub/api/users/bob/tokens').set('X-XSRFToken', adminXsrf).send({})).body.token;
    expect((await admin.post('/hub/api/groups').set('X-XSRFToken', adminXsrf).send({ name: 'readers', users: ['bob'] })).status).toBe(201);
  }, SLOW);

  afterAll(async () => {
    for (const s of f.hub.context.servers.spawner.list()) await f.hub.context.servers.stop(s.owner);
    await f.close();
  }, SLOW);

  const status = async () => (await admin.get('/hub/api/users/alice')).body.status as string;

  it('starts the server once for concurrent visits and shows a progress page that moves on', async () => {
    // An API call does not start a stopped server; it says how to.
    const api = await request(f.url).get('/user/alice/api/userprofile').set('Cookie', aliceCookie).set('Accept', 'application/json');
    expect(api.status).toBe(503);
    expect(api.body).toMatchObject({ status: 'stopped' });
    expect(api.body.message).toContain('POST /hub/api/users/alice/server');
    expect(await status()).toBe('stopped');
    const visits = await Promise.all(
      Array.from({ length: 4 }, () => request(f.url).get('/user/alice/').set('Cookie', aliceCookie).set('Accept', 'text/html')),
    );
    for (const v of visits) expect(v.text).toContain('Starting your server');
    const page = await request(f.url).get('/user/alice/workflows?x=1').set('Cookie', aliceCookie).set('Accept', 'text/html');
    expect(page.status).toBe(200);
    expect(page.text).toContain('Starting your server');
    expect(page.text).toContain('data-next="/user/alice/workflows?x=1"');
    expect(page.text).toMatch(/src="\/hub\/static\/v-[0-9a-f]{12}\/js\/hub\/spawn\.js"/);
    // A start that fails or hangs names its cause: the user model's spawn_error and the server's log.
    await waitFor("alice's server to run", async () => (await status()) === 'running', 90_000).catch(async (err: Error) => {
      const model = (await admin.get('/hub/api/users/alice')).body as unknown;
      const logFile = join(f.dir, 'users', 'alice', 'server.log');
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-4000) : '(no server.log)';
      throw new Error(`${err.message}\nuser model: ${JSON.stringify(model)}\nserver.log:\n${log}`);
    });
    expect(f.hub.context.servers.spawner.list().filter((s) => s.owner === 'alice')).toHaveLength(1);
  }, SLOW);

  it('proxies requests with the hub\'s proof of who is asking, ignoring forged identity headers', async () => {
    const own = await request(f.url).get('/user/alice/api/userprofile').set('Cookie', aliceCookie).set('Accept', 'application/json');
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ username: 'alice', owner: 'alice' });
    const bob = await request(f.url)
      .get('/user/alice/api/userprofile')
      .set('Authorization', `token ${bobToken}`)
      .set('X-Flotilla-Proof', 'forged.proof')
      .set('X-Forwarded-User', 'alice')
      .set('Remote-User', 'alice');
    expect(bob.status).toBe(200);
    expect(bob.body).toMatchObject({ username: 'bob', owner: 'alice', groups: ['readers'] });
    expect(bob.body.permissions).toEqual(['read']);
    // The server's pages carry the hub session's XSRF token for cookie visitors.
    const page = await request(f.url).get('/user/alice/').set('Cookie', aliceCookie).set('Accept', 'text/html');
    expect(page.status).toBe(200);
    const hubPage = await request(f.url).get('/hub/home').set('Cookie', aliceCookie);
    expect(xsrfFrom(page.text)).toBe(xsrfFrom(hubPage.text));
  }, SLOW);

  it('accepts a browser WebSocket from where the hub listens when that is not bind_url, and the server agrees', async () => {
    // The hub is configured as 127.0.0.1:8000 but listens on another port (no public_url): its
    // public origin is where it listens. The server knows only bind_url's origin, which the hub
    // forwards once it has checked the browser's.
    expect(new URL(f.url).port).not.toBe('8000');
    const socket = await openGraphqlSocket(f.url, 'alice', { Cookie: aliceCookie, Origin: f.url });
    expect(socket.messages.some((m) => m.type === 'connection_ack')).toBe(true);
    socket.close();
  }, SLOW);

  it('proxies WebSockets and a subscriber who loses read through a group change is disconnected', async () => {
    const { ws, messages } = await openGraphqlSocket(f.url, 'alice', bobToken);
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription { deltas { __typename } }' } }));
    await waitFor('first delta', () => messages.some((m) => m.type === 'next'), 20_000);
    const removed = await admin.delete('/hub/api/groups/readers/users').set('X-XSRFToken', adminXsrf).send({ users: ['bob'] });
    expect(removed.status).toBe(200);
    expect(await closed).toBe(4403);
    const refused = await request(f.url).get('/user/alice/api/userprofile').set('Authorization', `token ${bobToken}`);
    expect(refused.body.permissions ?? []).toEqual([]);
  }, SLOW);

  it('stops the server through the API; the next visit by someone who may not start it says so', async () => {
    const stopped = await admin.delete('/hub/api/users/alice/server').set('X-XSRFToken', adminXsrf);
    expect(stopped.status).toBe(204);
    expect(await status()).toBe('stopped');
    const bob = await request(f.url).get('/user/alice/').set('Authorization', `token ${bobToken}`);
    expect(bob.status).toBe(503);
    expect(bob.body).toMatchObject({ status: 'stopped' });
    const started = await admin.post('/hub/api/users/alice/server').set('X-XSRFToken', adminXsrf);
    // JupyterHub's statuses: 201 when the server is up within 10 s, 202 while it is still starting.
    expect([201, 202]).toContain(started.status);
    await waitFor('restart', async () => (await status()) === 'running', 90_000);
    expect((await admin.post('/hub/api/users/alice/server').set('X-XSRFToken', adminXsrf)).status).toBe(400);
  }, SLOW);
});
