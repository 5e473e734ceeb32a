/**
 * Token requests to a running server skip express (routing/front-door.ts) and the workflow server
 * answers a plain GET api/userprofile ahead of its own express (server/front-door.ts). Nothing of
 * what decides may be kept from before a change: a revoked token, a removed account, a withdrawn
 * role (for a token that inherits and for a scoped one, whose access the hub caches) and narrowed
 * sharing must each be refused on the very next request.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HtpasswdFile } from '../../src/htpasswd/index.js';
import { PROOF_HEADER } from '../../src/identity/proof.js';
import { startTestServer, type TestServer } from '../server/helpers.js';
import { proxyAliceTo } from '../security/through-hub.js';
import { signIn, startHub, writeUsers, type HubFixture } from './helpers.js';

const PROFILE = '/user/alice/api/userprofile';

describe('the front doors keep nothing a change must take away', () => {
  let f: HubFixture;
  let server: TestServer;
  let admin: ReturnType<HubFixture['agent']>;
  let adminXsrf: string;
  /** The hub's own proxy, with its own answer for a server that does not answer. */
  let hubProxy: HubFixture['hub']['context']['proxy'];

  beforeAll(async () => {
    f = await startHub({ hub: { load_roles: [{ name: 'user', scopes: ['self'] }, { name: 'watch-alice', scopes: ['access:servers!user=alice'], groups: ['watchers'] }] } });
    server = await startTestServer({ owner: 'alice', site: { '*': { '*': { default: 'READ' } } }, groups: { watchers: ['bob', 'carol'] } });
    hubProxy = f.hub.context.proxy;
    proxyAliceTo(f, server);
    admin = f.agent();
    adminXsrf = (await signIn(admin, 'admin')).xsrf;
  });

  beforeEach(async () => {
    expect((await admin.post('/hub/api/groups').set('X-XSRFToken', adminXsrf).send({ name: 'watchers', users: ['bob', 'carol'] })).status).toBe(201);
    return async () => {
      await admin.delete('/hub/api/groups/watchers').set('X-XSRFToken', adminXsrf);
    };
  });

  afterAll(async () => {
    f.hub.context.proxy.close();
    await server?.close();
    await f?.close();
  });

  async function tokenOf(user: string, scopes?: string[]): Promise<{ token: string; id: string }> {
    const res = await admin.post(`/hub/api/users/${user}/tokens`).set('X-XSRFToken', adminXsrf).send(scopes ? { scopes } : {});
    expect(res.status).toBe(201);
    return { token: res.body.token, id: res.body.id };
  }

  const profile = (token: string) => f.agent().get(PROFILE).set('Authorization', `token ${token}`);

  it('serves a token request through both front doors, as express would', async () => {
    const { token } = await tokenOf('bob');
    const res = await profile(token);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ username: 'bob', owner: 'alice', permissions: ['read'] });
    // The server's security headers, and none of the hub's credentials or proof going back.
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers[PROOF_HEADER]).toBeUndefined();
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('refuses a revoked token on the next request', async () => {
    const { token, id } = await tokenOf('bob');
    expect((await profile(token)).status).toBe(200);
    expect((await admin.delete(`/hub/api/users/bob/tokens/${id}`).set('X-XSRFToken', adminXsrf)).status).toBe(204);
    const res = await profile(token);
    expect(res.status).toBe(401);
    expect(res.body.message).toMatch(/invalid or expired API token/);
  });

  it('refuses the token of a removed account on the next request', async () => {
    const { token } = await tokenOf('carol');
    expect((await profile(token)).status).toBe(200);
    const htpasswd = new HtpasswdFile(join(f.dir, 'htpasswd'));
    htpasswd.remove('carol');
    f.hub.context.users.refresh();
    try {
      expect((await profile(token)).status).toBe(401);
    } finally {
      await writeUsers(f.dir, { carol: 'carol-secret-3' });
      f.hub.context.users.refresh();
    }
  });

  for (const scoped of [false, true]) {
    it(`refuses ${scoped ? 'a scoped token' : 'a token'} whose user lost access:servers on the next request`, async () => {
      const { token } = await tokenOf('bob', scoped ? ['access:servers!user=alice', 'custom:workflows:read'] : undefined);
      expect((await profile(token)).status).toBe(200);
      expect((await admin.delete('/hub/api/groups/watchers/users').set('X-XSRFToken', adminXsrf).send({ users: ['bob'] })).status).toBe(200);
      const res = await profile(token);
      expect(res.status).toBe(404);
      expect(res.body.message).toMatch(/no server at \/user\/alice\//);
    });
  }

  it("refuses a user the owner's sharing shuts out on the next request", async () => {
    const { token } = await tokenOf('bob');
    expect((await profile(token)).status).toBe(200);
    const saved = await server.put({ user: 'alice' }, '/user/alice/api/authorization').send({ bob: ['!read'] });
    expect(saved.status).toBe(200);
    try {
      const res = await profile(token);
      expect(res.status).toBe(403);
      expect(res.body.reason).toBe('owner-sharing');
    } finally {
      expect((await server.put({ user: 'alice' }, '/user/alice/api/authorization').send({})).status).toBe(200);
    }
  });

  it('answers a token request whose server does not answer with JSON, from the hub', async () => {
    const { token } = await tokenOf('bob');
    const ctx = f.hub.context;
    const spawner = ctx.servers.spawner;
    const testProxy = ctx.proxy;
    const info = spawner.info.bind(spawner);
    // Recorded as running, but nothing listens there: connecting is refused.
    spawner.info = (owner) => (owner === 'alice' ? { owner, pid: 1, port: 9, url: 'http://127.0.0.1:9', secret: server.secret, startedAt: 0, lastActivity: 0 } : info(owner));
    ctx.proxy = hubProxy;
    try {
      const res = await profile(token).set('Accept', 'text/html');
      expect(res.status).toBe(503);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toEqual({ status: 503, message: expect.stringMatching(/workflow server of alice is not answering/) });
      expect(res.headers['x-frame-options']).toBe('DENY');
    } finally {
      spawner.info = info;
      ctx.proxy = testProxy;
    }
  });
  it('hands a request whose checks throw to express, which answers 500 and proxies nothing; the hub goes on', async () => {
    const { token } = await tokenOf('bob');
    const tokens = f.hub.context.tokens;
    const lookup = tokens.lookup.bind(tokens);
    // The token store on a locked or full database.
    tokens.lookup = () => {
      throw Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    };
    try {
      const res = await profile(token);
      expect(res.status).toBe(500);
      expect(res.body.username).toBeUndefined();
    } finally {
      tokens.lookup = lookup;
    }
    expect((await profile(token)).status).toBe(200);
  });
});

describe("the workflow server's front door checks what requireProof checks", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ owner: 'alice', site: { '*': { '*': { default: 'READ' } } }, groups: {} });
  });
  afterAll(() => server?.close());

  it('answers a plain GET api/userprofile, and refuses a replayed proof, none, and the hub itself', async () => {
    const headers = server.sign({ user: 'bob' }, 'GET', PROFILE);
    const first = await server.get({ user: 'bob' }, PROFILE).set(headers);
    expect(first.status).toBe(200);
    expect(first.body.username).toBe('bob');
    expect(first.headers['x-frame-options']).toBe('DENY');
    const replayed = await server.get({ user: 'bob' }, PROFILE).set(headers);
    expect(replayed.status).toBe(401);
    expect(replayed.text).toBe('Unauthorized');
    expect(replayed.headers['x-frame-options']).toBe('DENY');
    const hub = await server.get({ user: null }, PROFILE);
    expect(hub.status).toBe(403);
    expect(hub.text).toBe('Forbidden');
  });

  it('leaves the rest to express: a query string, HEAD, other methods', async () => {
    expect((await server.get({ user: 'bob' }, `${PROFILE}?x=1`)).body.username).toBe('bob');
    const head = server.sign({ user: 'bob' }, 'HEAD', PROFILE);
    const res = await fetch(`${server.url}${PROFILE}`, { method: 'HEAD', headers: head });
    expect(res.status).toBe(200);
    expect((await server.post({ user: 'bob' }, PROFILE)).status).toBe(404);
  });
});
