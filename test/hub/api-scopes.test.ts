import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { Permissions } from '../../src/hub/roles/permissions.js';
import { signIn, startHub, type HubFixture } from './helpers.js';

const GROUPS: Record<string, string[]> = { alice: ['lab'], bob: ['lab'], carol: [], dave: [] };
const members = { exists: (u: string) => u in GROUPS, isAdmin: () => false, groupsOf: (u: string) => GROUPS[u] ?? [] };

describe('scope vocabulary and meaning (unit)', () => {
  it('self is JupyterHub\'s: read:users, users:activity, servers, tokens, access:servers (and shares), each for the holder', () => {
    const scopes = new Permissions([], members).scopeNames('alice');
    expect(scopes).toEqual([
      'access:servers!user=alice',
      'delete:servers!user=alice',
      'read:servers!user=alice',
      'read:shares!user=alice',
      'read:tokens!user=alice',
      'read:users!user=alice',
      'read:users:activity!user=alice',
      'read:users:groups!user=alice',
      'read:users:name!user=alice',
      'read:users:shares!user=alice',
      'servers!user=alice',
      'start:servers!user=alice',
      'tokens!user=alice',
      'users:activity!user=alice',
      'users:shares!user=alice',
    ]);
  });

  it('drops a filtered scope also held without a filter, as JupyterHub reduces scopes', () => {
    const scopes = new Permissions([{ name: 'user', scopes: ['self', 'access:servers'] }], members).scopeNames('alice');
    expect(scopes).toContain('access:servers');
    expect(scopes).not.toContain('access:servers!user=alice');
    expect(scopes).toContain('servers!user=alice');
  });

  it('read:users no longer implies list:users; admin:users implies users, list:users, delete:users', () => {
    const p = new Permissions(
      [
        { name: 'readers', scopes: ['read:users'], users: ['carol'] },
        { name: 'admins', scopes: ['admin:users'], users: ['dave'] },
      ],
      members,
    );
    expect(p.holdsAny('carol', 'list:users')).toBe(false);
    expect(p.can('carol', 'read:users:activity', { user: 'bob' })).toBe(true);
    for (const scope of ['users', 'list:users', 'delete:users', 'users:activity', 'read:roles:users', 'admin:auth_state'] as const) {
      expect(p.can('dave', scope, { user: 'bob' }), scope).toBe(true);
    }
    expect(p.can('dave', 'servers', { user: 'bob' })).toBe(false);
  });

  it('a !server= filter reaches only scopes about servers, never user-level ones such as tokens', () => {
    const p = new Permissions([{ name: 'odd', scopes: ['tokens!server=bob/', 'admin:users!server=bob/', 'servers!server=bob/'], users: ['carol'] }], members);
    for (const scope of ['tokens', 'delete:users', 'users:activity', 'read:tokens', 'admin:users'] as const) {
      expect(p.can('carol', scope, { user: 'bob' }), scope).toBe(false);
    }
    expect(p.can('carol', 'servers', { user: 'bob' })).toBe(true);
    expect(p.can('carol', 'servers', { user: 'alice' })).toBe(false);
  });

  it('filters: !user=, !group=, !server=USER/, !service=, and bare !user for each holder of a role', () => {
    const p = new Permissions(
      [
        { name: 'a', scopes: ['read:servers!server=bob/', 'admin:groups!group=lab', 'read:services!service=culler'], users: ['carol'] },
        { name: 'own', scopes: ['access:servers!user'], users: ['dave', 'carol'] },
        { name: 'svc', scopes: ['list:users!group=lab', 'read:services!service', 'access:servers!user'], services: ['culler'] },
      ],
      members,
      new Set(['culler']),
    );
    expect(p.can('carol', 'read:servers', { user: 'bob' })).toBe(true);
    expect(p.can('carol', 'read:servers', { user: 'alice' })).toBe(false);
    // A server filter does not reach the user model (read:servers › read:users:name is dropped).
    expect(p.can('carol', 'read:users:name', { user: 'bob' })).toBe(false);
    expect(p.can('carol', 'admin:groups', { group: 'lab' })).toBe(true);
    expect(p.can('carol', 'admin:groups', { group: 'other' })).toBe(false);
    expect(p.can('carol', 'read:services', { service: 'culler' })).toBe(true);
    expect(p.can('dave', 'access:servers', { user: 'dave' })).toBe(true);
    expect(p.can('dave', 'access:servers', { user: 'carol' })).toBe(false);
    const culler = p.accessOf({ kind: 'service', name: 'culler' });
    expect(culler.can('list:users', { user: 'alice' })).toBe(true);
    expect(culler.can('list:users', { user: 'carol' })).toBe(false);
    expect(culler.can('read:services', { service: 'culler' })).toBe(true);
    // A bare !user means nothing for a service: it is not a user.
    expect(culler.holdsAny('access:servers')).toBe(false);
    // An unknown service holds nothing, whatever roles name it.
    expect(p.accessOf({ kind: 'service', name: 'ghost' }).scopeNames()).toEqual([]);
  });

  it('a token holds its scopes within its owner\'s, narrowed to the owner\'s filters; more than the owner holds is refused', () => {
    const p = new Permissions([{ name: 'lab-watch', scopes: ['access:servers!group=lab', 'read:users!group=lab'], users: ['carol'] }], members);
    const owner = { kind: 'user' as const, name: 'carol' };
    expect(p.excessScopes(owner, ['access:servers!user=alice', 'read:users:name!group=lab'])).toEqual([]);
    expect(p.excessScopes(owner, ['access:servers!user=carol', 'access:servers!user=dave'])).toEqual(['access:servers!user=dave']);
    expect(p.excessScopes(owner, ['admin:users'])).toContain('admin:users');
    expect(p.excessScopes(owner, ['custom:workflows:read'])).toEqual([]);
    const token = p.accessOfToken(owner, ['access:servers', 'custom:workflows:read']);
    expect(token.can('access:servers', { user: 'alice' })).toBe(true);
    expect(token.can('access:servers', { user: 'dave' })).toBe(false);
    expect(token.can('tokens', { user: 'carol' })).toBe(false);
    expect(token.scopeNames()).toEqual(['access:servers!group=lab', 'access:servers!user=carol', 'custom:workflows:read']);
    // inherit, or no scopes at all: everything the owner holds.
    expect(p.accessOfToken(owner, ['inherit']).scopeNames()).toEqual(p.scopeNames('carol'));
    expect(p.accessOfToken(owner, undefined).scopeNames()).toEqual(p.scopeNames('carol'));
  });
});

describe('scopes through the API: trimmed models, scoped tokens, services', () => {
  let f: HubFixture;
  let adminAgent: ReturnType<HubFixture['agent']>;
  let adminXsrf: string;
  const SERVICE_TOKEN = '6f9d1e2c3b4a5968778695a4b3c2d1e0';
  const as = (token: string) => ({
    get: (p: string) => request(f.url).get(p).set('Authorization', `token ${token}`).set('Accept', 'application/json'),
    post: (p: string, body?: object) => request(f.url).post(p).set('Authorization', `token ${token}`).send(body ?? {}),
    delete: (p: string) => request(f.url).delete(p).set('Authorization', `token ${token}`),
  });
  const tokenFor = async (user: string, body: object) => adminAgent.post(`/hub/api/users/${user}/tokens`).set('X-XSRFToken', adminXsrf).send(body);

  beforeAll(async () => {
    f = await startHub({
      hub: {
        load_groups: { lab: { users: ['alice', 'bob'] } },
        load_roles: [
          { name: 'names-only', scopes: ['list:users'], users: ['mallory'] },
          { name: 'lab-watch', scopes: ['access:servers!group=lab', 'read:users!group=lab', 'list:users!group=lab', 'read:servers!group=lab'], users: ['carol'] },
          { name: 'team-watch', scopes: ['read:users!group=team'], users: ['carol'] },
          { name: 'stats', scopes: ['list:users', 'read:users:activity', 'read:servers', 'delete:servers', 'users:activity'], services: ['stats'] },
        ],
        services: [{ name: 'stats', api_token: SERVICE_TOKEN }],
      },
    });
    adminAgent = f.agent();
    adminXsrf = (await signIn(adminAgent, 'admin')).xsrf;
    expect((await adminAgent.post('/hub/api/groups/team').set('X-XSRFToken', adminXsrf).send({ users: ['mallory'] })).status).toBe(201);
  });
  afterAll(() => f.close());

  it('models are trimmed to what the caller may read: list:users sees names only', async () => {
    const token = (await tokenFor('mallory', {})).body.token;
    const listed = await as(token).get('/hub/api/users');
    expect(listed.status).toBe(200);
    expect(listed.body).toHaveLength(5);
    // Her own model in full (self); everyone else's name alone.
    for (const u of listed.body.filter((m: { name: string }) => m.name !== 'mallory')) expect(Object.keys(u).sort()).toEqual(['admin', 'kind', 'name']);
    expect(listed.body.find((m: { name: string }) => m.name === 'mallory')).toHaveProperty('last_activity');
    const carol = (await tokenFor('carol', {})).body.token;
    const lab = await as(carol).get('/hub/api/users');
    expect(lab.body.map((u: { name: string }) => u.name)).toEqual(['alice', 'bob']);
    expect(lab.body[0]).toHaveProperty('last_activity');
    expect(lab.body[0]).toHaveProperty('servers');
    expect(lab.body[0]).not.toHaveProperty('auth_state');
  });

  it('a scope held only with a filter answers 404 outside it, and 403 when not held at all', async () => {
    const carol = (await tokenFor('carol', {})).body.token;
    expect((await as(carol).get('/hub/api/users/admin')).status).toBe(404);
    expect((await as(carol).get('/hub/api/users/alice')).status).toBe(200);
    expect((await as(carol).get('/hub/api/groups')).status).toBe(403);
    expect((await as(carol).post('/hub/api/users/alice/server')).status).toBe(404);
  });

  it('/hub/api/user shows the request\'s own scopes, a scoped token\'s included', async () => {
    const made = await tokenFor('carol', { scopes: ['read:users!user=alice'], note: 'narrow' });
    expect(made.status).toBe(201);
    const me = await as(made.body.token).get('/hub/api/user');
    expect(me.body.scopes).toEqual(['read:users!user=alice', 'read:users:activity!user=alice', 'read:users:groups!user=alice', 'read:users:name!user=alice']);
    expect(me.body.token_id).toBe(made.body.id);
    expect(me.body.name).toBe('carol');
    // A token that may read nobody still identifies its owner: JupyterHub's identify scopes.
    const blind = await tokenFor('carol', { scopes: ['access:servers!user=alice'] });
    const who = (await as(blind.body.token).get('/hub/api/user')).body;
    expect(who).toMatchObject({ kind: 'user', name: 'carol', admin: false, groups: expect.any(Array) });
    expect(who).not.toHaveProperty('servers');
    // It may do what it says and nothing more of what carol may.
    expect((await as(made.body.token).get('/hub/api/users/alice')).status).toBe(200);
    expect((await as(made.body.token).get('/hub/api/users/bob')).status).toBe(404);
    expect((await as(made.body.token).get('/hub/api/users')).status).toBe(403);
    expect((await as(made.body.token).post('/hub/api/users/carol/tokens')).status).toBe(403);
  });

  it('a token never gets more than its owner holds: 400 naming the excess; unknown scopes and roles are 400', async () => {
    const excess = await tokenFor('carol', { scopes: ['access:servers!user=admin'] });
    expect(excess.status).toBe(400);
    expect(excess.body.message).toBe('Not assigning requested scopes access:servers!user=admin not held by User carol');
    const unknown = await tokenFor('carol', { scopes: ['read:userz'] });
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toMatch(/unknown scope "read:userz"; did you mean "read:users"\?/);
    expect((await tokenFor('carol', { roles: ['stats'] })).body.message).toMatch(/does not hold the role "stats"/);
    expect((await tokenFor('carol', { roles: ['nope'] })).body.message).toMatch(/no role named "nope"/);
    const byRole = await tokenFor('carol', { roles: ['lab-watch'] });
    expect(byRole.status).toBe(201);
    expect(byRole.body.scopes).toContain('access:servers!group=lab');
    expect(byRole.body.scopes).not.toContain('tokens!user=carol');
  });

  it('a scoped token hands on only what it holds: no inherit, nothing beyond its scopes, its workflow ceiling kept', async () => {
    const limited = await tokenFor('carol', { scopes: ['tokens!user=carol', 'read:users!user=alice', 'custom:workflows:read'] });
    expect(limited.status).toBe(201);
    const mint = (body: object) => as(limited.body.token).post('/hub/api/users/carol/tokens', body);
    expect((await mint({})).status).toBe(403);
    expect((await mint({ scopes: ['inherit'] })).status).toBe(403);
    expect((await mint({ scopes: ['read:users!user=alice'] })).status).toBe(403);
    const beyond = await mint({ scopes: ['read:users!group=lab', 'custom:workflows:read'] });
    expect(beyond.status).toBe(400);
    expect(beyond.body.message).toContain('read:users!group=lab');
    const widerCeiling = await mint({ scopes: ['read:users!user=alice', 'custom:workflows:control'] });
    expect(widerCeiling.status).toBe(400);
    const within = await mint({ scopes: ['read:users!user=alice', 'custom:workflows:read'] });
    expect(within.status).toBe(201);
  });

  it('a token loses what its owner loses, at once', async () => {
    const made = await tokenFor('carol', { scopes: ['read:users!user=mallory'] });
    expect(made.status).toBe(201);
    expect((await as(made.body.token).get('/hub/api/users/mallory')).status).toBe(200);
    // carol reads mallory through the run-time group team; mallory leaves it, and the token cannot any more.
    expect((await adminAgent.delete('/hub/api/groups/team/users').set('X-XSRFToken', adminXsrf).send({ users: ['mallory'] })).status).toBe(200);
    expect((await as(made.body.token).get('/hub/api/users/mallory')).status).toBe(404);
    expect((await as(made.body.token).get('/hub/api/user')).body.scopes).toEqual([]);
  });

  it('a token without access:servers for an owner cannot reach that server, nor open a socket there', async () => {
    const made = await tokenFor('carol', { scopes: ['read:users!group=lab'] });
    const proxied = await as(made.body.token).get('/user/alice/');
    expect(proxied.status).toBe(404);
    const full = (await tokenFor('carol', {})).body.token;
    expect((await as(full).get('/user/alice/')).status).toBe(503);
  });

  it('a service authenticates with its api_token and holds the scopes of its roles, and only those', async () => {
    const svc = as(SERVICE_TOKEN);
    const users = await svc.get('/hub/api/users');
    expect(users.status).toBe(200);
    expect(Object.keys(users.body[0]).sort()).toEqual(['admin', 'kind', 'last_activity', 'name', 'servers', 'started', 'status']);
    expect((await svc.post('/hub/api/users/alice/activity', { last_activity: '2026-02-01T00:00:00Z' })).status).toBe(200);
    expect((await svc.post('/hub/api/users/alice/server')).status).toBe(403);
    expect((await svc.get('/hub/api/users/alice/tokens')).status).toBe(403);
    // Services use the REST API only: no proxied server, no hub pages.
    expect((await svc.get('/user/alice/')).status).toBe(401);
    expect(f.hub.context.serviceTokens.tokenFor('stats')).toBe(SERVICE_TOKEN);
  });
});
