import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { createHub, SESSION_COOKIE } from '../../src/hub/index.js';
import { openHubDatabase } from '../../src/hub/db.js';
import { SqliteSessionStore } from '../../src/hub/sessions/sqlite-store.js';
import { cookieValue, makeDataDir, PASSWORDS, signIn, startHub, testConfig, writeUsers, xsrfFrom, type HubFixture } from './helpers.js';

describe('sign-in', () => {
  let f: HubFixture;
  beforeAll(async () => {
    f = await startHub({
      hub: { authenticator: { blocked_users: ['mallory'] } },
      loginLimits: {
        per_user_address: { attempts: 4, window_seconds: 600 },
        per_address: { attempts: 1000, window_seconds: 600 },
        per_user: { attempts: 8, window_seconds: 600 },
      },
    });
  });
  afterAll(() => f.close());

  it('signs in with the right password and sets a hardened session cookie', async () => {
    const agent = f.agent();
    const page = await agent.get('/hub/login');
    expect(page.status).toBe(200);
    expect(page.text).toMatch(/<input type="hidden" name="_xsrf" value="[A-Za-z0-9_-]{43}">/);
    const res = await agent.post('/hub/login').type('form').send({ _xsrf: xsrfFrom(page.text), username: 'alice', password: PASSWORDS.alice });
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('/hub/home');
    const cookie = (res.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith(`${SESSION_COOKIE}=`))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).not.toMatch(/Secure/);
    const me = await agent.get('/hub/api/user');
    expect(me.status).toBe(200);
    expect(me.body.name).toBe('alice');
    expect(me.body.admin).toBe(false);
  });

  it('answers a wrong password, an unknown user and a blocked user the same way', async () => {
    const answers = [];
    for (const [username, password] of [
      ['bob', 'wrong-password'],
      ['nobody-here', 'whatever'],
      ['mallory', PASSWORDS.mallory!],
    ]) {
      const agent = f.agent();
      const xsrf = xsrfFrom((await agent.get('/hub/login')).text);
      const res = await agent.post('/hub/login').type('form').send({ _xsrf: xsrf, username, password });
      const body = res.text.replaceAll(xsrf, 'XSRF').replaceAll(`value="${username}"`, 'value="NAME"');
      answers.push({ status: res.status, body, cookie: !!cookieValue(res.headers['set-cookie'], SESSION_COOKIE) });
      expect(res.text).toContain('Invalid user name or password.');
      const me = await agent.get('/hub/api/user');
      expect(me.status).toBe(401);
    }
    expect(answers[0]!.status).toBe(403);
    expect(answers[1]).toEqual(answers[0]);
    expect(answers[2]).toEqual(answers[0]);
  });

  it('limits attempts per name from one address, and a success clears that count', async () => {
    const agent = f.agent();
    const xsrf = xsrfFrom((await agent.get('/hub/login')).text);
    const attempt = (password: string) => agent.post('/hub/login').type('form').send({ _xsrf: xsrf, username: 'carol', password });
    for (let i = 0; i < 3; i++) expect((await attempt('nope')).status).toBe(403);
    expect((await attempt(PASSWORDS.carol!)).status).toBe(302);
    const again = f.agent();
    const xsrf2 = xsrfFrom((await again.get('/hub/login')).text);
    const attempt2 = (password: string) => again.post('/hub/login').type('form').send({ _xsrf: xsrf2, username: 'carol', password });
    for (let i = 0; i < 4; i++) expect((await attempt2('nope')).status).toBe(403);
    const locked = await attempt2(PASSWORDS.carol!);
    expect(locked.status).toBe(429);
    expect(locked.headers['retry-after']).toMatch(/^\d+$/);
    expect(locked.text).toContain('Too many failed sign-in attempts');
    // A locked name is locked for everyone, known or not: no difference to learn from.
    const unknown = f.agent();
    const xsrf3 = xsrfFrom((await unknown.get('/hub/login')).text);
    for (let i = 0; i < 4; i++) await unknown.post('/hub/login').type('form').send({ _xsrf: xsrf3, username: 'ghost', password: 'x' });
    expect((await unknown.post('/hub/login').type('form').send({ _xsrf: xsrf3, username: 'ghost', password: 'x' })).status).toBe(429);
  });

  it('issues a new session id at sign-in (no fixation)', async () => {
    // The attacker signs in and plants their own session cookie in the victim's browser.
    const attacker = await signIn(f.agent(), 'carol');
    const planted = cookieValue(attacker.res.headers['set-cookie'], SESSION_COOKIE)!;
    const page = await request(f.url).get('/hub/login').set('Cookie', `${SESSION_COOKIE}=${planted}`);
    const loginCookie = (page.headers['set-cookie'] as unknown as string[]).map((c) => c.split(';')[0]).join('; ');
    const res = await request(f.url)
      .post('/hub/login')
      .set('Cookie', `${SESSION_COOKIE}=${planted}; ${loginCookie}`)
      .type('form')
      .send({ _xsrf: xsrfFrom(page.text), username: 'bob', password: PASSWORDS.bob });
    const after = cookieValue(res.headers['set-cookie'], SESSION_COOKIE);
    expect(after).toBeTruthy();
    expect(after).not.toBe(planted);
    // The planted id does not carry bob's sign-in.
    const stale = await request(f.url).get('/hub/api/user').set('Cookie', `${SESSION_COOKIE}=${planted}`);
    expect(stale.body.name).not.toBe('bob');
  });

  it('refuses a sign-in form without its XSRF token', async () => {
    const agent = f.agent();
    await agent.get('/hub/login');
    const res = await agent.post('/hub/login').type('form').send({ username: 'alice', password: PASSWORDS.alice });
    expect(res.status).toBe(403);
    expect((await agent.get('/hub/api/user')).status).toBe(401);
  });

  it('destroys the session at sign-out', async () => {
    const agent = f.agent();
    const { res, xsrf } = await signIn(agent, 'alice');
    const cookie = cookieValue(res.headers['set-cookie'], SESSION_COOKIE)!;
    expect((await agent.post('/hub/logout').type('form').send({})).status).toBe(403);
    const out = await agent.post('/hub/logout').type('form').send({ _xsrf: xsrf });
    expect(out.status).toBe(302);
    expect(out.headers.location).toBe('/hub/login');
    const reused = await request(f.url).get('/hub/api/user').set('Cookie', `${SESSION_COOKIE}=${cookie}`);
    expect(reused.status).toBe(401);
  });

  it('redirects after sign-in only to paths on this hub', async () => {
    const evil = [
      '//evil.example/',
      '/\\evil.example/',
      '\\\\evil.example',
      'https://evil.example/',
      'javascript:alert(1)',
      '/%2F%2Fevil.example',
      '/%5Cevil.example',
      '%2F%2Fevil.example',
      '/%252F%252Fevil.example',
      '/\t/evil.example',
      'http:/evil.example',
    ];
    for (const next of evil) {
      const agent = f.agent();
      const { res } = await signIn(agent, 'bob', PASSWORDS.bob, next);
      expect([next, res.headers.location]).toEqual([next, '/hub/home']);
    }
    const agent = f.agent();
    const { res } = await signIn(agent, 'bob', PASSWORDS.bob, '/user/bob/workflows/w1?tab=log');
    expect(res.headers.location).toBe('/user/bob/workflows/w1?tab=log');
  });

  it('sends unauthenticated browsers to the sign-in page and API clients a 401', async () => {
    const page = await request(f.url).get('/hub/home');
    expect(page.status).toBe(302);
    expect(page.headers.location).toBe('/hub/login?next=%2Fhub%2Fhome');
    const api = await request(f.url).get('/hub/api/users');
    expect(api.status).toBe(401);
    expect(api.body.message).toMatch(/authentication required/);
  });
});

describe('sessions and the cookie secret', () => {
  it('names the cookies __Host- and marks them Secure when the hub is served over https', async () => {
    const f = await startHub({ hub: { bind_url: 'https://127.0.0.1:8443' } });
    try {
      const page = await request(f.url).get('/hub/login').set('X-Forwarded-Proto', 'https');
      const formCookie = (page.headers['set-cookie'] as unknown as string[])[0]!;
      expect(formCookie).toMatch(/^__Host-flotilla-login-xsrf=[^;]+; Max-Age=3600; Path=\/; Expires=[^;]+; HttpOnly; Secure; SameSite=Lax$/);
      // The cookie goes back by hand, as the browser would send it over TLS.
      const res = await request(f.url)
        .post('/hub/login')
        .set('X-Forwarded-Proto', 'https')
        .set('Cookie', formCookie.split(';')[0]!)
        .type('form')
        .send({ _xsrf: xsrfFrom(page.text), username: 'alice', password: PASSWORDS.alice });
      expect(res.status).toBe(302);
      const session = (res.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith(`__Host-${SESSION_COOKIE}=`))!;
      expect(session).toMatch(/; Path=\/;/);
      expect(session).toMatch(/; Secure/);
      expect(session).not.toMatch(/Domain=/i);
      // Over plain HTTP a Secure session cookie is never sent at all.
      const plain = await request(f.url).get('/hub/login');
      expect(cookieValue(plain.headers['set-cookie'], `__Host-${SESSION_COOKIE}`)).toBeUndefined();
    } finally {
      await f.close();
    }
  });

  it('lets in only allowed_users when the list is not empty', async () => {
    const f = await startHub({ hub: { authenticator: { allowed_users: ['alice', 'admin'] } } });
    try {
      expect((await signIn(f.agent(), 'alice')).res.status).toBe(302);
      const bob = await signIn(f.agent(), 'bob');
      expect(bob.res.status).toBe(403);
      expect(bob.res.text).toContain('Invalid user name or password.');
      const admin = f.agent();
      const { xsrf } = await signIn(admin, 'admin');
      expect((await admin.get('/hub/api/users')).body.map((u: { name: string }) => u.name)).toEqual(['admin', 'alice']);
      expect((await admin.post('/hub/api/users/bob/tokens').set('X-XSRFToken', xsrf).send({})).status).toBe(403);
    } finally {
      await f.close();
    }
  });

  it('notices users added to the htpasswd file while running', async () => {
    const f = await startHub({ users: { alice: PASSWORDS.alice! } });
    try {
      expect((await signIn(f.agent(), 'bob')).res.status).toBe(403);
      await writeUsers(f.dir, { bob: PASSWORDS.bob! });
      const bob = f.agent();
      expect((await signIn(bob, 'bob')).res.status).toBe(302);
      expect((await bob.get('/hub/api/user')).body.name).toBe('bob');
    } finally {
      await f.close();
    }
  });

  it('keeps sessions across a hub restart', async () => {
    const first = await startHub();
    const agent = first.agent();
    const { res } = await signIn(agent, 'alice');
    const cookie = cookieValue(res.headers['set-cookie'], SESSION_COOKIE)!;
    await first.close(true);
    const second = await startHub({ dir: first.dir });
    try {
      const me = await request(second.url).get('/hub/api/user').set('Cookie', `${SESSION_COOKIE}=${cookie}`);
      expect(me.status).toBe(200);
      expect(me.body.name).toBe('alice');
    } finally {
      await second.close();
    }
  });

  it('sweeps expired sessions from the database and forgets them in the cache', async () => {
    const dir = makeDataDir();
    const db = openHubDatabase(dir);
    const store = new SqliteSessionStore(db);
    try {
      const get = (sid: string) => new Promise((resolve, reject) => store.get(sid, (err, s) => (err ? reject(err) : resolve(s))));
      const live = { cookie: { originalMaxAge: 60_000, expires: new Date(Date.now() + 60_000) }, passport: { user: 'alice' } };
      const dead = { cookie: { originalMaxAge: 1, expires: new Date(Date.now() - 1_000) }, passport: { user: 'bob' } };
      store.set('live', live as never);
      store.set('dead', dead as never);
      expect(await get('live')).toMatchObject({ passport: { user: 'alice' } });
      expect(await get('dead')).toBeNull();
      store.set('dead2', dead as never);
      expect(store.sweep()).toBe(1);
      const rows = db.prepare('SELECT sid FROM sessions ORDER BY sid').all() as { sid: string }[];
      expect(rows.map((r) => r.sid)).toEqual(['live']);
      // A second store on the same database (a restarted hub) reads what the first wrote.
      const again = new SqliteSessionStore(db);
      const read = await new Promise((resolve) => again.get('live', (_e, s) => resolve(s)));
      expect(read).toMatchObject({ passport: { user: 'alice' } });
      again.close();
    } finally {
      store.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('creates the cookie secret with mode 0600 and refuses one others can read', async () => {
    const dir = makeDataDir();
    try {
      await writeUsers(dir, { alice: 'pw' });
      const config = testConfig(dir);
      const hub = createHub(config);
      await hub.close();
      expect(statSync(config.JupyterHub.cookie_secret_file).mode & 0o777).toBe(0o600);
      expect(statSync(join(dir, 'hub.sqlite')).mode & 0o777).toBe(0o600);
      chmodSync(config.JupyterHub.cookie_secret_file, 0o644);
      expect(() => createHub(config)).toThrow(`run: chmod 600 ${config.JupyterHub.cookie_secret_file}`);
      writeFileSync(join(dir, 'other-secret'), 'x'.repeat(64), { mode: 0o640 });
      const other = testConfig(dir, { cookie_secret_file: join(dir, 'other-secret') });
      expect(() => createHub(other)).toThrow(/readable or writable by group or others \(mode 0640\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('anonymous visitors', () => {
  it('get no session, only the sign-in form\'s short-lived XSRF cookie; signing in gives the full lifetime', async () => {
    const f = await startHub();
    try {
      const stray = await request(f.url).get('/hub/no-such-page').set('Accept', 'text/html');
      expect(stray.status).toBe(404);
      expect(stray.headers['set-cookie']).toBeUndefined();
      const agent = f.agent();
      const page = await agent.get('/hub/login');
      expect(cookieValue(page.headers['set-cookie'], SESSION_COOKIE)).toBeUndefined();
      const anon = (page.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith('flotilla-login-xsrf='))!;
      const hours = (new Date(/Expires=([^;]+)/.exec(anon)![1]!).getTime() - Date.now()) / 3_600_000;
      expect(hours).toBeLessThanOrEqual(1);
      const { res } = await signIn(agent, 'alice');
      const full = (res.headers['set-cookie'] as unknown as string[]).find((c) => c.startsWith(`${SESSION_COOKIE}=`))!;
      const days = (new Date(/Expires=([^;]+)/.exec(full)![1]!).getTime() - Date.now()) / 86_400_000;
      expect(days).toBeGreaterThan(13);
    } finally {
      await f.close();
    }
  });
});
