import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { API_ROOT, expectShape, expectToken, GROUP, INFO, PAGINATION, REQUEST_IDENTITY, SERVER, SERVICE, SERVICE_IDENTITY, USER_MODEL, USER_OPTIONAL } from './api-spec.js';
import { signIn, startHub, type HubFixture } from './helpers.js';

const PAGINATED = 'application/jupyterhub-pagination+json';
const SERVICE_TOKEN = 'b2f1c0ffee5e4d6c8a7b9e0d1c2b3a49';

/**
 * Each endpoint Flotilla serves, held to JupyterHub 5's spec: the status it documents and the
 * keys and types of its answer (test/hub/api-spec.ts), and JupyterHub's answers to bad input.
 */
describe('REST API shapes (JupyterHub 5 rest-api.yml)', () => {
  let f: HubFixture;
  let admin: string;
  let alice: string;
  const api = (token: string) => ({
    get: (p: string, accept = 'application/json') => request(f.url).get(`/hub/api${p}`).set('Authorization', `token ${token}`).set('Accept', accept),
    post: (p: string, body?: object) => request(f.url).post(`/hub/api${p}`).set('Authorization', `token ${token}`).send(body ?? {}),
    put: (p: string, body: unknown) => request(f.url).put(`/hub/api${p}`).set('Authorization', `token ${token}`).send(body as object),
    patch: (p: string, body: object) => request(f.url).patch(`/hub/api${p}`).set('Authorization', `token ${token}`).send(body),
    delete: (p: string, body?: object) => request(f.url).delete(`/hub/api${p}`).set('Authorization', `token ${token}`).send(body ?? {}),
  });

  beforeAll(async () => {
    f = await startHub({
      hub: {
        load_groups: { lab: { users: ['alice', 'bob'] } },
        load_roles: [
          { name: 'lab-readers', scopes: ['read:users!group=lab', 'read:groups!group=lab'], users: ['carol'] },
          { name: 'monitor', scopes: ['list:users', 'read:users:activity', 'read:servers', 'delete:servers'], services: ['idle-culler'] },
        ],
        services: [{ name: 'idle-culler', api_token: SERVICE_TOKEN }],
      },
    });
    const agent = f.agent();
    const { xsrf } = await signIn(agent, 'admin');
    admin = (await agent.post('/hub/api/users/admin/tokens').set('X-XSRFToken', xsrf).send({})).body.token;
    alice = (await agent.post('/hub/api/users/alice/tokens').set('X-XSRFToken', xsrf).send({})).body.token;
  });
  afterAll(() => f.close());

  it('GET / answers the version without credentials', async () => {
    const res = await request(f.url).get('/hub/api/');
    expect(res.status).toBe(200);
    expectShape(res.body, API_ROOT);
    expect(res.body.version).toMatch(/^5\.\d+\.\d+$/);
  });

  it('GET /info needs read:hub', async () => {
    const res = await api(admin).get('/info');
    expect(res.status).toBe(200);
    expectShape(res.body, INFO);
    expectShape(res.body.authenticator, { class: ['string'], version: ['string'] });
    expect((await api(alice).get('/info')).status).toBe(403);
    expect((await request(f.url).get('/hub/api/info')).status).toBe(401);
  });

  it('GET /user is the RequestIdentity, for a user token and for a service token', async () => {
    const me = await api(alice).get('/user');
    expect(me.status).toBe(200);
    expectShape(me.body, REQUEST_IDENTITY, USER_OPTIONAL);
    expect(me.body).not.toHaveProperty('auth_state');
    expect(me.body).toMatchObject({ kind: 'user', name: 'alice', session_id: null });
    expect(me.body.token_id).toEqual(expect.any(String));
    const service = await api(SERVICE_TOKEN).get('/user');
    expect(service.status).toBe(200);
    expectShape(service.body, SERVICE_IDENTITY);
    expect(service.body).toMatchObject({ kind: 'service', name: 'idle-culler', roles: ['monitor'] });
    expect(service.body.scopes).toEqual(expect.arrayContaining(['list:users', 'read:users:activity', 'read:servers', 'delete:servers']));
  });

  it('GET /users lists User models; state, offset, limit, name_filter and sort as JupyterHub reads them', async () => {
    const all = await api(admin).get('/users');
    expect(all.status).toBe(200);
    expect(all.body.map((u: { name: string }) => u.name)).toEqual(['admin', 'alice', 'bob', 'carol', 'mallory']);
    for (const u of all.body) expectShape(u, { ...USER_MODEL, ...USER_OPTIONAL });
    expect((await api(admin).get('/users?state=inactive')).body).toHaveLength(5);
    expect((await api(admin).get('/users?state=ready')).body).toEqual([]);
    expect((await api(admin).get('/users?state=active')).body).toEqual([]);
    expect((await api(admin).get('/users?name_filter=AL')).body.map((u: { name: string }) => u.name)).toEqual(['alice', 'mallory']);
    expect((await api(admin).get('/users?sort=-name&limit=2')).body.map((u: { name: string }) => u.name)).toEqual(['mallory', 'carol']);
    for (const [query, message] of [
      ['state=bogus', /Unrecognized state filter/],
      ['limit=x', /offset and limit must be integers/],
      ['offset=-1', /offset and limit must be integers/],
      ['sort=age', /sort must be 'id', 'name', or 'last_activity'/],
      ['include_stopped_servers=maybe', /include_stopped_servers must be true or false/],
    ] as const) {
      const res = await api(admin).get(`/users?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body).toEqual({ status: 400, message: expect.stringMatching(message) });
    }
  });

  it('GET /users with the pagination media type answers items and _pagination, with the next page', async () => {
    const first = await api(admin).get('/users?limit=2', PAGINATED);
    expect(first.status).toBe(200);
    expect(Object.keys(first.body).sort()).toEqual(['_pagination', 'items']);
    expectShape(first.body._pagination, PAGINATION);
    expect(first.body._pagination).toMatchObject({ offset: 0, limit: 2, total: 5 });
    expect(first.body.items.map((u: { name: string }) => u.name)).toEqual(['admin', 'alice']);
    const next = first.body._pagination.next;
    expect(next).toMatchObject({ offset: 2, limit: 2 });
    const nextUrl = new URL(next.url);
    expect(nextUrl.searchParams.get('offset')).toBe('2');
    const last = await api(admin).get(`${nextUrl.pathname.replace('/hub/api', '')}?offset=4&limit=2`, PAGINATED);
    expect(last.body.items.map((u: { name: string }) => u.name)).toEqual(['mallory']);
    expect(last.body._pagination.next).toBeNull();
    // The limit is capped at 200 and at least 1.
    expect((await api(admin).get('/users?limit=0', PAGINATED)).body._pagination.limit).toBe(1);
    expect((await api(admin).get('/users?limit=5000', PAGINATED)).body._pagination.limit).toBe(200);
  });

  it('GET /users/NAME is a User; servers holds the default server only when active, or with include_stopped_servers', async () => {
    const res = await api(admin).get('/users/alice');
    expect(res.status).toBe(200);
    expectShape(res.body, USER_MODEL);
    expect(res.body.servers).toEqual({});
    expect(res.body.created).toEqual(expect.any(String));
    const stopped = await api(admin).get('/users/alice?include_stopped_servers');
    expectShape(stopped.body.servers[''], SERVER);
    expect(stopped.body.servers['']).toMatchObject({ name: '', ready: false, stopped: true, pending: null, url: '/user/alice/', progress_url: '/hub/api/users/alice/server/progress', state: {} });
    expect((await api(admin).get('/users/nobody')).status).toBe(404);
  });

  it('POST /users and POST /users/NAME: 409 for existing accounts; new accounts are refused with how to make one', async () => {
    expect((await api(admin).post('/users/alice')).status).toBe(409);
    expect((await api(admin).post('/users', { usernames: ['alice', 'bob'] })).status).toBe(409);
    const fresh = await api(admin).post('/users', { usernames: ['alice', 'zoe'] });
    expect(fresh.status).toBe(400);
    expect(fresh.body.message).toMatch(/cannot create zoe: .*bin\/flotilla passwd add/);
    expect((await api(alice).post('/users/zoe')).status).toBe(403);
  });

  it('PATCH /users/NAME answers the User; a rename or an admin change is refused with the reason', async () => {
    const same = await api(admin).patch('/users/alice', { admin: false });
    expect(same.status).toBe(200);
    expectShape(same.body, USER_MODEL);
    const rename = await api(admin).patch('/users/alice', { name: 'alicia' });
    expect(rename.status).toBe(400);
    expect(rename.body.message).toMatch(/cannot rename alice/);
    expect((await api(admin).patch('/users/alice', { admin: true })).body.message).toMatch(/admin_users/);
    expect((await api(admin).patch('/users/alice', { colour: 'red' })).status).toBe(400);
  });

  it('POST /users/NAME/activity records activity (200); bad dates and named servers are 400', async () => {
    const at = '2026-01-31T12:00:00.000Z';
    const res = await api(admin).post('/users/bob/activity', { last_activity: at, servers: { '': { last_activity: at } } });
    expect(res.status).toBe(200);
    expect((await api(admin).get('/users/bob')).body.last_activity).toBe(at);
    expect((await api(admin).post('/users/bob/activity', { last_activity: 'yesterday' })).status).toBe(400);
    const named = await api(admin).post('/users/bob/activity', { servers: { gpu: { last_activity: at } } });
    expect(named.status).toBe(400);
    expect(named.body.message).toMatch(/named servers are not enabled/);
    expect((await api(alice).post('/users/bob/activity', { last_activity: at })).status).toBe(404);
  });

  it('/users/NAME/servers/SERVER: named servers are off; {"remove": true} cannot remove the default server', async () => {
    const named = await api(admin).post('/users/alice/servers/gpu');
    expect(named.status).toBe(400);
    expect(named.body.message).toBe('Named servers are not enabled.');
    expect((await api(admin).delete('/users/alice/servers/gpu')).body.message).toBe('Named servers are not enabled.');
    const remove = await api(admin).delete('/users/alice/server', { remove: true });
    expect(remove.status).toBe(400);
    expect(remove.body.message).toBe('Cannot delete the default server');
    // Stopping a server that is not running is done at once: 204; `/servers/` is the default server.
    expect((await api(admin).delete('/users/alice/server')).status).toBe(204);
    expect((await api(admin).delete('/users/alice/servers/')).status).toBe(204);
    const progress = await api(admin).get('/users/alice/server/progress');
    expect(progress.status).toBe(400);
  });

  it('tokens: list, create (NewToken), get, delete, with JupyterHub\'s model', async () => {
    const made = await api(alice).post('/users/alice/tokens', { note: 'shape', expires_in: 3600, scopes: ['read:users!user=alice'] });
    expect(made.status).toBe(201);
    expectToken(made.body, true);
    expect(made.body.scopes).toEqual(['read:users!user=alice', 'read:users:activity!user=alice', 'read:users:groups!user=alice', 'read:users:name!user=alice']);
    const listed = await api(alice).get('/users/alice/tokens');
    expect(listed.status).toBe(200);
    expect(Object.keys(listed.body)).toEqual(['api_tokens']);
    for (const t of listed.body.api_tokens) expectToken(t);
    const one = await api(alice).get(`/users/alice/tokens/${made.body.id}`);
    expect(one.status).toBe(200);
    expectToken(one.body);
    expect((await api(alice).delete(`/users/alice/tokens/${made.body.id}`)).status).toBe(204);
    expect((await api(alice).get(`/users/alice/tokens/${made.body.id}`)).status).toBe(404);
    expect((await api(alice).post('/users/alice/tokens', { expires_in: 'soon' })).status).toBe(400);
  });

  it('groups: list, create, get, members, properties (stored), delete, with roles and properties', async () => {
    const made = await api(admin).post('/groups/physics', { users: ['bob'] });
    expect(made.status).toBe(201);
    expectShape(made.body, GROUP);
    const listed = await api(admin).get('/groups');
    expect(listed.status).toBe(200);
    for (const g of listed.body) expectShape(g, GROUP);
    const paged = await api(admin).get('/groups?limit=1', PAGINATED);
    expect(paged.body._pagination).toMatchObject({ offset: 0, limit: 1, total: 2 });
    const props = await api(admin).put('/groups/physics/properties', { cluster: 'hpc', quota: 4 });
    expect(props.status).toBe(200);
    expectShape(props.body, GROUP);
    expect(props.body.properties).toEqual({ cluster: 'hpc', quota: 4 });
    expect((await api(admin).put('/groups/physics/properties', ['not', 'an', 'object'])).status).toBe(400);
    expect((await api(admin).get('/groups/physics')).body.properties).toEqual({ cluster: 'hpc', quota: 4 });
    expect((await api(admin).post('/groups/physics/users', { users: ['alice'] })).body.users).toEqual(['alice', 'bob']);
    expect((await api(admin).delete('/groups/physics/users', { users: ['alice'] })).status).toBe(200);
    expect((await api(admin).delete('/groups/physics')).status).toBe(204);
    expect((await api(admin).get('/groups/physics')).status).toBe(404);
  });

  it('groups carry the roles given to them in load_roles', async () => {
    const lab = await api(admin).get('/groups/lab');
    expect(lab.body).toMatchObject({ name: 'lab', roles: [], users: ['alice', 'bob'] });
  });

  it('GET /services (list:services) and /services/NAME (read:services) describe JupyterHub.services', async () => {
    const listed = await api(admin).get('/services');
    expect(listed.status).toBe(200);
    expect(Object.keys(listed.body)).toEqual(['idle-culler']);
    expectShape(listed.body['idle-culler'], SERVICE);
    expect(listed.body['idle-culler'].roles).toEqual(['monitor']);
    const one = await api(admin).get('/services/idle-culler');
    expect(one.status).toBe(200);
    expectShape(one.body, SERVICE);
    expect((await api(admin).get('/services/nope')).status).toBe(404);
    expect((await api(alice).get('/services')).status).toBe(403);
    expect((await api(alice).get('/services/idle-culler')).status).toBe(403);
  });
});
