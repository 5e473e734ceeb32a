import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import request from 'supertest';
import { SESSION_COOKIE } from '../../src/hub/index.js';
import { cookieValue, signIn, startHub, upgradeStatus, type HubFixture } from './helpers.js';

/** Sends a raw request target (no client-side normalisation) and returns the status line and body. */
function rawGet(url: string, target: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => {
      const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
      socket.write(`GET ${target} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAccept: application/json\r\n${extra}Connection: close\r\n\r\n`);
    });
    let data = '';
    socket.on('data', (d) => (data += d.toString('utf8')));
    socket.on('end', () => resolve({ status: Number(data.split(' ')[1]), text: data.slice(data.indexOf('\r\n\r\n') + 4) }));
    socket.on('error', reject);
  });
}

describe('/user/NAME/ routing up to the hand-off', () => {
  let f: HubFixture;
  let cookie: string;
  let token: string;
  let xsrf: string;
  let agent: ReturnType<HubFixture['agent']>;

  beforeAll(async () => {
    f = await startHub({ hub: { load_roles: [{ name: 'look', scopes: ['access:servers!user=alice'], users: ['bob'] }] } });
    agent = f.agent();
    const signed = await signIn(agent, 'bob');
    xsrf = signed.xsrf;
    cookie = `${SESSION_COOKIE}=${cookieValue(signed.res.headers['set-cookie'], SESSION_COOKIE)}`;
    token = (await agent.post('/hub/api/users/bob/tokens').set('X-XSRFToken', xsrf).send({})).body.token;
  });
  afterAll(() => f.close());

  it('refuses odd and encoded names and paths before anything else', async () => {
    for (const target of [
      '/user/../hub/admin',
      '/user/%2e%2e/hub/',
      '/user/..%2Fhub/',
      '/user/alice%2Fx/',
      '/user/al%69ce/',
      '/user/%C3%BCnic%C3%B6de/',
      '/user/ünicöde/',
      '/user/.alice/',
      '/user/alice/..%2F..%2Fhub/admin',
      '/user/alice/%2e%2e/bob/',
      '/user/alice/a/./b',
      '/user/alice/%5c..%5c',
      '/user/alice/%zz',
      `/user/${'a'.repeat(65)}/`,
    ]) {
      const res = await rawGet(f.url, target, { Cookie: cookie });
      expect([target, res.status]).toEqual([target, 400]);
      // Raw non-ASCII bytes are refused by Node's HTTP parser itself, with an empty body.
      if (res.text) expect(JSON.parse(res.text).message).toMatch(/invalid user name|not allowed|malformed/);
      else expect(target).toBe('/user/ünicöde/');
    }
  });

  it('sends browsers without a session to sign in, and API clients a 401', async () => {
    const page = await request(f.url).get('/user/alice/workflows/w?x=1').set('Accept', 'text/html');
    expect(page.status).toBe(302);
    expect(page.headers.location).toBe('/hub/login?next=%2Fuser%2Falice%2Fworkflows%2Fw%3Fx%3D1');
    const api = await request(f.url).get('/user/alice/api/userprofile').set('Accept', 'application/json');
    expect(api.status).toBe(401);
    const badToken = await request(f.url).get('/user/alice/').set('Authorization', 'token flt_nope');
    expect(badToken.status).toBe(401);
  });

  it('answers JSON to everything but a browser navigating to a page', async () => {
    const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
    const AUTH_REQUIRED = { status: 401, message: 'authentication required: sign in, or send "Authorization: token <API token>"' };
    const anonymous = request(f.url);
    const asJson: [string, Promise<request.Response>][] = [
      // curl's defaults: Accept: */*
      ['curl POST json', anonymous.post('/user/alice/graphql').set('Accept', '*/*').set('Content-Type', 'application/json').send('{"query":"{ workflows { id } }"}')],
      ['curl GET', anonymous.get('/user/alice/api/userprofile').set('Accept', '*/*')],
      ['no Accept', anonymous.get('/user/alice/api/userprofile')],
      ['prefers JSON', anonymous.get('/user/alice/api/userprofile').set('Accept', 'application/json, text/html;q=0.5')],
      ['JSON body', anonymous.get('/user/alice/workflows/w').set('Accept', BROWSER).set('Content-Type', 'application/json')],
      // A form posted by a browser is not a page visit either.
      ['form POST', anonymous.post('/user/alice/graphql').set('Accept', BROWSER).type('form').send({ a: '1' })],
      ['DELETE', anonymous.delete('/user/alice/workflows/w').set('Accept', BROWSER)],
    ];
    for (const [label, pending] of asJson) {
      const res = await pending;
      expect([label, res.status, res.type]).toEqual([label, 401, 'application/json']);
      expect(res.body).toEqual(AUTH_REQUIRED);
    }
    const page = await anonymous.get('/user/alice/workflows/w').set('Accept', BROWSER);
    expect(page.status).toBe(302);
    expect(page.headers.location).toBe('/hub/login?next=%2Fuser%2Falice%2Fworkflows%2Fw');

    // The refusals of a signed-in caller follow the same rule: JSON unless a page is visited.
    const notFound = await request(f.url).get('/user/carol/api/userprofile').set('Cookie', cookie).set('Accept', '*/*');
    expect([notFound.status, notFound.type, notFound.body.status]).toEqual([404, 'application/json', 404]);
    const notFoundPage = await request(f.url).get('/user/carol/').set('Cookie', cookie).set('Accept', BROWSER);
    expect([notFoundPage.status, notFoundPage.type]).toEqual([404, 'text/html']);
    expect(notFoundPage.text).toContain('No such server');
    const xsrfRefused = await request(f.url).post('/user/alice/graphql').set('Cookie', cookie).set('Accept', BROWSER).type('form').send({ a: '1' });
    expect([xsrfRefused.status, xsrfRefused.type]).toEqual([403, 'application/json']);
    expect(xsrfRefused.body.message).toMatch(/XSRF/);
    const stopped = await request(f.url).get('/user/alice/api/userprofile').set('Cookie', cookie).set('Accept', '*/*');
    expect([stopped.status, stopped.type, stopped.body.status]).toEqual([503, 'application/json', 'stopped']);
    const stoppedPage = await request(f.url).get('/user/alice/').set('Cookie', cookie).set('Accept', BROWSER);
    expect([stoppedPage.status, stoppedPage.type]).toEqual([503, 'text/html']);

    // The hub's own routes: the API always answers JSON, pages send browsers to sign in.
    const api = await anonymous.get('/hub/api/user').set('Accept', BROWSER);
    expect([api.status, api.type]).toEqual([401, 'application/json']);
    const home = await anonymous.get('/hub/home').set('Accept', BROWSER);
    expect([home.status, home.headers.location]).toEqual([302, '/hub/login?next=%2Fhub%2Fhome']);
    const missing = await anonymous.get('/hub/nothing-here').set('Accept', '*/*');
    expect([missing.status, missing.type]).toEqual([404, 'application/json']);
    const missingPage = await anonymous.get('/hub/nothing-here').set('Accept', BROWSER);
    expect([missingPage.status, missingPage.type]).toEqual([404, 'text/html']);
  });

  it('adds the slash after a bare /user/NAME', async () => {
    const res = await request(f.url).get('/user/alice?x=1').set('Cookie', cookie);
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('/user/alice/?x=1');
  });

  it('needs the XSRF token for cookie-authenticated changes, not for token ones', async () => {
    const refused = await request(f.url).post('/user/alice/graphql').set('Cookie', cookie).set('Accept', 'application/json').send({ query: 'mutation { play(workflows: ["w"]) }' });
    expect(refused.status).toBe(403);
    expect(refused.body.message).toMatch(/XSRF/);
    const wrong = await request(f.url).post('/user/alice/graphql').set('Cookie', cookie).set('X-XSRFToken', 'not-it').set('Accept', 'application/json').send({});
    expect(wrong.status).toBe(403);
    // Past the XSRF check, the next answer is about the stopped server.
    const passed = await request(f.url).post('/user/alice/graphql').set('Cookie', cookie).set('X-XSRFToken', xsrf).set('Accept', 'application/json').send({});
    expect(passed.status).toBe(503);
    expect(passed.body.status).toBe('stopped');
    const byToken = await request(f.url).post('/user/alice/graphql').set('Authorization', `token ${token}`).send({});
    expect(byToken.status).toBe(503);
    expect(byToken.body.status).toBe('stopped');
  });

  it('checks WebSocket upgrades: authentication, Origin, access, name', async () => {
    const base = f.url.replace('http', 'ws');
    const own = f.url;
    expect(await upgradeStatus(`${base}/user/alice/subscriptions`, {}, own)).toBe(401);
    expect(await upgradeStatus(`${base}/user/alice/subscriptions`, { Cookie: cookie }, 'http://evil.example')).toBe(403);
    expect(await upgradeStatus(`${base}/user/alice/subscriptions`, { Cookie: cookie })).toBe(403);
    expect(await upgradeStatus(`${base}/user/alice/subscriptions`, { Cookie: cookie }, own)).toBe(503);
    expect(await upgradeStatus(`${base}/user/alice/subscriptions`, { Authorization: `token ${token}` })).toBe(503);
    expect(await upgradeStatus(`${base}/user/alice/subscriptions`, { Authorization: `token ${token}` }, 'http://evil.example')).toBe(403);
    expect(await upgradeStatus(`${base}/user/carol/subscriptions`, { Authorization: `token ${token}` })).toBe(404);
    expect(await upgradeStatus(`${base}/user/zelda/subscriptions`, { Authorization: `token ${token}` })).toBe(404);
    expect(await upgradeStatus(`${base}/user/..%2Fx/subscriptions`, { Authorization: `token ${token}` })).toBe(400);
    expect(await upgradeStatus(`${base}/user/alice/subscriptions?token=${token}`, {})).toBe(400);
    expect(await upgradeStatus(`${base}/hub/api/user`, { Authorization: `token ${token}` })).toBe(404);
    expect(await upgradeStatus(`${base}/user/alice/subscriptions`, { Authorization: 'token flt_wrong' })).toBe(401);
  });
});
