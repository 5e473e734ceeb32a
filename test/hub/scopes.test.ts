import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import type { Test } from 'supertest';
import { makeDataDir, signIn, startHub, testConfig, type HubFixture } from './helpers.js';

const ROLES = [
  { name: 'watch-alice', scopes: ['access:servers!user=alice', 'servers!user=carol', 'tokens!user=alice'], users: ['bob'] },
  { name: 'ops-watch', scopes: ['access:servers!group=ops', 'read:servers!group=ops', 'list:users', 'admin:groups!group=team'], users: ['carol'] },
  { name: 'team-readers', scopes: ['read:users'], groups: ['team'] },
];

describe('roles and scopes', () => {
  let f: HubFixture;
  const agents: Record<string, { get(p: string): Test; send(m: 'post' | 'delete', p: string, body?: object): Test }> = {};

  beforeAll(async () => {
    f = await startHub({ hub: { load_roles: ROLES, load_groups: { ops: { users: ['alice'] } } } });
    for (const name of ['alice', 'bob', 'carol', 'admin']) {
      const agent = f.agent();
      const { xsrf } = await signIn(agent, name);
      agents[name] = {
        get: (p) => agent.get(p).set('Accept', 'application/json'),
        send: (m, p, body) => agent[m](p).set('X-XSRFToken', xsrf).set('Accept', 'application/json').send(body ?? {}),
      };
    }
  });
  afterAll(() => f.close());

  it('gives everyone `self`: their own server, user model and tokens', async () => {
    const me = await agents.alice!.get('/hub/api/user');
    expect(me.body.scopes).toEqual(
      expect.arrayContaining(['access:servers!user=alice', 'servers!user=alice', 'read:servers!user=alice', 'tokens!user=alice', 'read:users!user=alice']),
    );
    expect(me.body.scopes.some((s: string) => !s.endsWith('!user=alice'))).toBe(false);
    expect(me.body.groups).toEqual(['ops']);
    // As in JupyterHub 5, read:users does not give list:users: `self` lists nobody.
    expect(me.body.scopes).not.toContain('list:users!user=alice');
    const listed = await agents.alice!.get('/hub/api/users');
    expect(listed.status).toBe(403);
    expect(listed.body.message).toMatch(/requires any of \[list:users\]/);
    expect((await agents.alice!.get('/hub/api/users/alice')).body.name).toBe('alice');
    expect((await agents.alice!.get('/hub/api/users/bob')).status).toBe(404);
  });

  it('access:servers!user=NAME reaches that server only; unknown and forbidden look the same', async () => {
    const alice = await agents.bob!.get('/user/alice/');
    expect(alice.status).toBe(503);
    expect(alice.body).toEqual({ status: 'stopped', message: "alice's server is not running, and you may not start it. Ask alice or an administrator to start it." });
    const html = await agents.bob!.get('/user/alice/').set('Accept', 'text/html');
    expect(html.status).toBe(503);
    expect(html.text).toContain('not running');
    const forbidden = await agents.bob!.get('/user/carol/workflows/x');
    const unknown = await agents.bob!.get('/user/zelda/workflows/x');
    expect(forbidden.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(JSON.stringify(forbidden.body).replaceAll('carol', 'N')).toBe(JSON.stringify(unknown.body).replaceAll('zelda', 'N'));
    const forbiddenPage = await agents.bob!.get('/user/carol/').set('Accept', 'text/html');
    const unknownPage = await agents.bob!.get('/user/zelda/').set('Accept', 'text/html');
    expect(forbiddenPage.status).toBe(404);
    expect(forbiddenPage.text.replaceAll('carol', 'N')).toBe(unknownPage.text.replaceAll('zelda', 'N'));
  });

  it('servers!user=NAME may stop that server, nothing else', async () => {
    expect((await agents.bob!.send('delete', '/hub/api/users/carol/server')).status).toBe(204);
    const other = await agents.bob!.send('delete', '/hub/api/users/alice/server');
    expect(other.status).toBe(404);
    expect((await agents.alice!.send('delete', '/hub/api/users/carol/server')).status).toBe(404);
    // carol holds delete:servers only for herself (self): for alice, JupyterHub answers 404.
    const filtered = await agents.carol!.send('delete', '/hub/api/users/alice/server');
    expect(filtered.status).toBe(404);
    expect(filtered.body.message).toBe('No access to resources or resources not found');
  });

  it('tokens!user=NAME manages that user\'s tokens', async () => {
    const made = await agents.bob!.send('post', '/hub/api/users/alice/tokens', { note: 'for alice' });
    expect(made.status).toBe(201);
    expect(made.body.user).toBe('alice');
    const refused = await agents.bob!.send('post', '/hub/api/users/carol/tokens');
    expect(refused.status).toBe(403);
    expect(refused.body.message).toBe('User carol not found or no permissions to generate tokens');
  });

  it('!group=NAME filters follow group membership as it changes', async () => {
    expect((await agents.carol!.get('/user/alice/')).body.status).toBe('stopped');
    expect((await agents.carol!.get('/hub/api/users/alice')).status).toBe(200);
    expect((await agents.carol!.get('/user/bob/')).status).toBe(404);
    // list:users lets carol see bob's name (read:users:name), and nothing more, until bob joins ops.
    expect((await agents.carol!.get('/hub/api/users/bob')).body).toEqual({ kind: 'user', name: 'bob', admin: false });
    expect((await agents.admin!.send('post', '/hub/api/groups/ops/users', { users: ['bob'] })).status).toBe(200);
    expect((await agents.carol!.get('/user/bob/')).body.status).toBe('stopped');
    expect(Object.keys((await agents.carol!.get('/hub/api/users/bob')).body).sort()).toEqual(['admin', 'kind', 'name', 'servers', 'started', 'status']);
    expect((await agents.admin!.send('delete', '/hub/api/groups/ops/users', { users: ['bob'] })).status).toBe(200);
    expect((await agents.carol!.get('/user/bob/')).status).toBe(404);
  });

  it('list:users lists everyone; admin:groups!group=NAME manages that group only', async () => {
    const listed = await agents.carol!.get('/hub/api/users');
    expect(listed.body.map((u: { name: string }) => u.name)).toEqual(['admin', 'alice', 'bob', 'carol', 'mallory']);
    expect((await agents.bob!.get('/hub/api/groups')).status).toBe(403);
    expect((await agents.carol!.send('post', '/hub/api/groups', { name: 'other' })).status).toBe(403);
    const team = await agents.carol!.send('post', '/hub/api/groups', { name: 'team', users: [] });
    expect(team.status).toBe(201);
    const groups = await agents.carol!.get('/hub/api/groups');
    expect(groups.body.map((g: { name: string }) => g.name)).toEqual(['team']);
    expect((await agents.carol!.get('/hub/api/groups/ops')).status).toBe(404);
    expect((await agents.carol!.send('post', '/hub/api/groups/ops/users', { users: ['carol'] })).status).toBe(404);
  });

  it('roles given to a group apply as soon as someone joins it (scope cache invalidated)', async () => {
    expect((await agents.bob!.get('/hub/api/users/mallory')).status).toBe(404);
    expect((await agents.carol!.send('post', '/hub/api/groups/team/users', { users: ['bob'] })).status).toBe(200);
    const seen = await agents.bob!.get('/hub/api/users/mallory');
    expect(seen.status).toBe(200);
    expect(seen.body.name).toBe('mallory');
    expect((await agents.bob!.get('/hub/api/user')).body.roles).toContain('team-readers');
    expect((await agents.carol!.send('delete', '/hub/api/groups/team/users', { users: ['bob'] })).status).toBe(200);
    expect((await agents.bob!.get('/hub/api/users/mallory')).status).toBe(404);
  });

  it('admins hold every scope', async () => {
    const me = await agents.admin!.get('/hub/api/user');
    expect(me.body.admin).toBe(true);
    expect(me.body.scopes).toEqual(expect.arrayContaining(['access:servers', 'servers', 'admin:users', 'admin:groups', 'tokens', 'list:users']));
    expect((await agents.admin!.get('/hub/api/users')).body).toHaveLength(5);
    expect((await agents.admin!.get('/hub/api/users/mallory')).body).toMatchObject({ name: 'mallory', server: null, status: 'stopped', pending: null });
    expect((await agents.admin!.send('delete', '/hub/api/users/mallory/server')).status).toBe(204);
  });

  it('refuses unknown scopes and filters at start-up', () => {
    const dir = makeDataDir();
    try {
      expect(() => testConfig(dir, { load_roles: [{ name: 'x', scopes: ['acess:servers'], users: ['bob'] }] })).toThrow(/load_roles.*unknown scope "acess:servers".*did you mean/s);
      expect(() => testConfig(dir, { load_roles: [{ name: 'x', scopes: ['servers!usr=bob'] }] })).toThrow(/unknown filter/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
