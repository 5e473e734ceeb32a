import { Agent } from 'node:http';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LoginLimits } from '../../src/config/index.js';
import { PASSWORDS, signIn, startHub, xsrfFrom, type HubFixture } from './helpers.js';

/** Every limit with the same long window, so that only a clear or the test's own steps end one. */
function limits(perUserAddress: number, perAddress: number, perUser: number): LoginLimits {
  const window_seconds = 600;
  return {
    per_user_address: { attempts: perUserAddress, window_seconds },
    per_address: { attempts: perAddress, window_seconds },
    per_user: { attempts: perUser, window_seconds },
  };
}

/** A hub with these limits for the tests of one describe block. */
function hubWith(loginLimits: LoginLimits): () => HubFixture {
  let fixture: HubFixture | undefined;
  beforeAll(async () => {
    fixture = await startHub({ loginLimits });
  });
  afterAll(() => fixture?.close());
  return () => {
    if (!fixture) throw new Error('the hub has not started');
    return fixture;
  };
}

/**
 * A browser at one loopback address (127.0.0.0/8 all reach the hub on 127.0.0.1): the hub sees
 * it as the socket's remote address, the way it sees clients on other machines.
 */
function browserAt(f: HubFixture, address: string) {
  const agent = f.agent();
  const via = new Agent({ localAddress: address });
  return {
    get: (path: string) => agent.get(path).agent(via),
    post: (path: string) => agent.post(path).agent(via),
    delete: (path: string) => agent.delete(path).agent(via),
    /** The sign-in form's XSRF token, fetched as a browser opens the page. */
    async openForm(): Promise<string> {
      return xsrfFrom((await this.get('/hub/login')).text);
    },
    async submit(xsrf: string, username: string, password: string) {
      return this.post('/hub/login').type('form').send({ _xsrf: xsrf, username, password });
    },
    async signIn(username: string, password: string) {
      return this.submit(await this.openForm(), username, password);
    },
    async signedInAs(): Promise<string | null> {
      const me = await this.get('/hub/api/user');
      return me.status === 200 ? (me.body.name as string) : null;
    },
  };
}

describe('parallel sign-in bursts', () => {
  const hub = hubWith(limits(5, 100, 10));

  it('let at most the limit reach the password check, and refuse the right password sent 15th', async () => {
    const f = hub();
    const BURST = 31;
    const users = f.hub.context.users;
    const verify = users.verify.bind(users);
    let checked = 0;
    let refused = 0;
    // Password checks wait until every request has either reached one or been refused, so all
    // 31 are in flight together however fast bcrypt is: nothing depends on timing.
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const settle = () => {
      if (checked + refused === BURST) openGate();
    };
    const spy = vi.spyOn(users, 'verify').mockImplementation(async (name, password) => {
      checked += 1;
      settle();
      await gate;
      return verify(name, password);
    });
    try {
      const browsers = Array.from({ length: BURST }, () => browserAt(f, '127.0.0.1'));
      const forms = await Promise.all(browsers.map((b) => b.openForm()));
      const send = (i: number, password: string) =>
        browsers[i]!.submit(forms[i]!, 'alice', password).then((res) => {
          if (res.status === 429) refused += 1;
          settle();
          return res;
        });
      const answers: Promise<request.Response>[] = [];
      for (let i = 0; i < 14; i++) answers.push(send(i, `wrong-${i}`));
      await expect.poll(() => checked + refused).toBe(14);
      answers.push(send(14, PASSWORDS.alice!));
      await expect.poll(() => checked + refused).toBe(15);
      for (let i = 15; i < BURST; i++) answers.push(send(i, `wrong-${i}`));
      const responses = await Promise.all(answers);

      expect(checked).toBe(5);
      expect(spy).toHaveBeenCalledTimes(5);
      const statuses = responses.map((r) => r.status);
      expect(statuses.filter((s) => s === 403)).toHaveLength(5);
      expect(statuses.filter((s) => s === 429)).toHaveLength(BURST - 5);
      expect(responses[14]!.status).toBe(429);
      expect(Number(responses[14]!.headers['retry-after'])).toBeGreaterThan(0);
      expect(await browsers[14]!.signedInAs()).toBeNull();
    } finally {
      spy.mockRestore();
    }
    // The burst is over and its five failures still count.
    expect((await browserAt(f, '127.0.0.1').signIn('alice', PASSWORDS.alice!)).status).toBe(429);
  });
});

describe('signing in to your own account between failures', () => {
  const hub = hubWith(limits(3, 6, 20));

  it('does not reset the count of the address', async () => {
    const f = hub();
    const me = browserAt(f, '127.0.0.1');
    for (const target of ['bob', 'carol', 'admin']) {
      const own = browserAt(f, '127.0.0.1');
      expect((await own.signIn('alice', PASSWORDS.alice!)).status).toBe(302);
      expect(await own.signedInAs()).toBe('alice');
      for (let i = 0; i < 2; i++) expect((await me.signIn(target, 'guess')).status).toBe(403);
    }
    // Six failures from this address: the limit, own sign-ins in between notwithstanding.
    const refused = await me.signIn('nobody-yet', 'guess');
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    expect((await browserAt(f, '127.0.0.1').signIn('alice', PASSWORDS.alice!)).status).toBe(429);
  });
});

describe('lockouts', () => {
  const hub = hubWith(limits(5, 8, 12));

  it('refuse a name from the address that guessed, not the real user from another one', async () => {
    const f = hub();
    const mallory = browserAt(f, '127.0.0.2');
    for (let i = 0; i < 5; i++) expect((await mallory.signIn('bob', `guess-${i}`)).status).toBe(403);
    expect((await mallory.signIn('bob', PASSWORDS.bob!)).status).toBe(429);
    const bob = browserAt(f, '127.0.0.3');
    expect((await bob.signIn('bob', PASSWORDS.bob!)).status).toBe(302);
    expect(await bob.signedInAs()).toBe('bob');
  });

  it('still slow a guess spread over many addresses, the same way for names that exist and names that do not', async () => {
    const f = hub();
    const answers = [];
    for (const name of ['carol', 'ghost']) {
      // 12 failures in all, at most 4 from any one address: under each address's own limits.
      for (const address of ['127.0.0.4', '127.0.0.5', '127.0.0.6']) {
        const guesser = browserAt(f, address);
        for (let i = 0; i < 4; i++) expect((await guesser.signIn(name, `guess-${i}`)).status).toBe(403);
      }
      const res = await browserAt(f, '127.0.0.7').signIn(name, PASSWORDS[name] ?? 'whatever');
      expect(res.status).toBe(429);
      const xsrf = /name="_xsrf" value="([^"]*)"/.exec(res.text)?.[1] ?? '';
      answers.push({
        status: res.status,
        retryAfter: Number(res.headers['retry-after']) > 0,
        body: res.text.replaceAll(xsrf, 'XSRF').replaceAll(`value="${name}"`, 'value="NAME"'),
      });
    }
    expect(answers[0]!.body).toContain('Too many failed sign-in attempts. Try again in 10 minute(s).');
    expect(answers[1]).toEqual(answers[0]);
  });

  it('answer a script that asks for JSON with JSON and Retry-After', async () => {
    const f = hub();
    const client = browserAt(f, '127.0.0.2');
    const xsrf = await client.openForm();
    const res = await client.post('/hub/login').type('form').set('Accept', 'application/json').send({ _xsrf: xsrf, username: 'bob', password: 'x' });
    expect(res.status).toBe(429);
    expect(res.body).toEqual({ status: 429, message: expect.stringContaining('Too many failed sign-in attempts'), retry_after: Number(res.headers['retry-after']) });
  });

  it('are listed and cleared by an admin, on the API and the admin page, and by nobody else', async () => {
    const f = hub();
    const guesser = browserAt(f, '127.0.0.9');
    for (let i = 0; i < 5; i++) expect((await guesser.signIn('alice', `guess-${i}`)).status).toBe(403);
    expect((await guesser.signIn('alice', PASSWORDS.alice!)).status).toBe(429);

    const alice = browserAt(f, '127.0.0.10');
    expect((await alice.signIn('alice', PASSWORDS.alice!)).status).toBe(302);
    expect((await alice.get('/hub/api/lockouts')).status).toBe(403);
    const aliceXsrf = xsrfFrom((await alice.get('/hub/home')).text);
    expect((await alice.delete('/hub/api/lockouts/alice').set('X-XSRFToken', aliceXsrf)).status).toBe(403);

    const admin = f.agent();
    const { xsrf } = await signIn(admin, 'admin');
    const listed = await admin.get('/hub/api/lockouts');
    expect(listed.status).toBe(200);
    expect(listed.body).toContainEqual({ limit: 'per_user_address', name: 'alice', address: '127.0.0.9', attempts: 5, until: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    const page = await admin.get('/hub/admin');
    expect(page.text).toContain('Sign-in lockouts');
    expect(page.text).toContain('alice from 127.0.0.9');
    expect(page.text).toContain('data-path="/hub/api/lockouts/alice"');

    expect((await admin.delete('/hub/api/lockouts/alice')).status).toBe(403);
    expect((await admin.delete('/hub/api/lockouts/alice').set('X-XSRFToken', xsrf)).status).toBe(204);
    expect((await admin.delete('/hub/api/lockouts/alice').set('X-XSRFToken', xsrf)).status).toBe(404);
    expect((await admin.get('/hub/api/lockouts')).body).not.toContainEqual(expect.objectContaining({ name: 'alice' }));
    const back = browserAt(f, '127.0.0.9');
    expect((await back.signIn('alice', PASSWORDS.alice!)).status).toBe(302);
    expect(await back.signedInAs()).toBe('alice');
  });

  it('of a whole address are cleared by an admin too', async () => {
    const f = hub();
    const crowd = browserAt(f, '127.0.0.11');
    for (let i = 0; i < 8; i++) expect((await crowd.signIn(`name${i}`, 'guess')).status).toBe(403);
    expect((await crowd.signIn('bob', PASSWORDS.bob!)).status).toBe(429);
    const admin = f.agent();
    const { xsrf } = await signIn(admin, 'admin');
    expect((await admin.get('/hub/api/lockouts')).body).toContainEqual(expect.objectContaining({ limit: 'per_address', name: null, address: '127.0.0.11', attempts: 8 }));
    expect((await admin.get('/hub/admin')).text).toContain('data-path="/hub/api/lockouts/addresses/127.0.0.11"');
    expect((await admin.delete('/hub/api/lockouts/addresses/not-an-address').set('X-XSRFToken', xsrf)).status).toBe(400);
    expect((await admin.delete('/hub/api/lockouts/addresses/127.0.0.11').set('X-XSRFToken', xsrf)).status).toBe(204);
    expect((await browserAt(f, '127.0.0.11').signIn('bob', PASSWORDS.bob!)).status).toBe(302);
  });
});

describe('the lockouts API', () => {
  it('is refused to a holder of admin:users limited to some users or groups', async () => {
    const f = await startHub({
      hub: { load_groups: { ops: { users: ['alice'] } }, load_roles: [{ name: 'helpdesk', scopes: ['admin:users!group=ops', 'admin:users!user=bob'], users: ['carol'] }] },
    });
    try {
      const carol = f.agent();
      const { xsrf } = await signIn(carol, 'carol');
      expect((await carol.get('/hub/api/users/alice')).status).toBe(200);
      expect((await carol.get('/hub/api/lockouts')).status).toBe(403);
      expect((await carol.delete('/hub/api/lockouts/alice').set('X-XSRFToken', xsrf)).status).toBe(403);
      const page = await carol.get('/hub/admin');
      expect(page.status).toBe(200);
      expect(page.text).not.toContain('Sign-in lockouts');
    } finally {
      await f.close();
    }
  });
});

describe('the address of a sign-in', () => {
  it('is the socket\'s on a plain-http hub, whatever X-Forwarded-For says', async () => {
    const f = await startHub({ loginLimits: limits(2, 100, 10) });
    try {
      const browser = browserAt(f, '127.0.0.12');
      const xsrf = await browser.openForm();
      const attempt = (forwarded: string) => browser.post('/hub/login').type('form').set('X-Forwarded-For', forwarded).send({ _xsrf: xsrf, username: 'bob', password: 'x' });
      expect((await attempt('198.51.100.1')).status).toBe(403);
      expect((await attempt('198.51.100.2')).status).toBe(403);
      expect((await attempt('198.51.100.3')).status).toBe(429);
      expect(f.hub.context.loginLimiter.lockouts().map((l) => l.address)).toEqual(['127.0.0.12']);
    } finally {
      await f.close();
    }
  });

  it('comes from the loopback TLS proxy\'s X-Forwarded-For on an https hub', async () => {
    const f = await startHub({ hub: { bind_url: 'https://127.0.0.1:8443' }, loginLimits: limits(2, 100, 10) });
    try {
      // The proxy speaks https to the browser; its cookies (Secure) come back as the browser sent them.
      const viaProxy = async (client: string, password: string) => {
        const page = await request(f.url).get('/hub/login').set({ 'X-Forwarded-Proto': 'https', 'X-Forwarded-For': client });
        const cookies = ((page.headers['set-cookie'] as unknown as string[] | undefined) ?? []).map((c) => c.split(';')[0]).join('; ');
        return request(f.url)
          .post('/hub/login')
          .set({ 'X-Forwarded-Proto': 'https', 'X-Forwarded-For': client, Cookie: cookies })
          .type('form')
          .send({ _xsrf: xsrfFrom(page.text), username: 'bob', password });
      };
      for (let i = 0; i < 2; i++) expect((await viaProxy('203.0.113.5', 'x')).status).toBe(403);
      expect((await viaProxy('203.0.113.5', PASSWORDS.bob!)).status).toBe(429);
      expect((await viaProxy('203.0.113.6', PASSWORDS.bob!)).status).toBe(302);
      expect(f.hub.context.loginLimiter.lockouts().map((l) => l.address)).toEqual(['203.0.113.5']);

      // IPv6 clients count by their /64: a new address in the same network is no fresh start.
      expect((await viaProxy('2001:db8::5', 'x')).status).toBe(403);
      expect((await viaProxy('2001:db8::6', 'x')).status).toBe(403);
      expect((await viaProxy('2001:db8::7', PASSWORDS.bob!)).status).toBe(429);
      const { token } = f.hub.context.tokens.create('admin', {});
      const clear = await request(f.url).delete(`/hub/api/lockouts/addresses/${encodeURIComponent('2001:db8::1234')}`).set('Authorization', `token ${token}`);
      expect(clear.status).toBe(204);
      expect((await viaProxy('2001:db8::7', PASSWORDS.bob!)).status).toBe(302);
    } finally {
      await f.close();
    }
  });
});
