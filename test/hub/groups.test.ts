import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Test } from 'supertest';
import { signIn, startHub, type HubFixture } from './helpers.js';

describe('groups', () => {
  let f: HubFixture;
  let admin: { get(p: string): Test; send(m: 'post' | 'delete', p: string, body?: unknown): Test };

  beforeAll(async () => {
    f = await startHub({
      users: { admin: 'admin-pw', alice: 'a', bob: 'b', root: 'r' },
      hub: { load_groups: { physics: { users: ['alice'] } } },
      server: { system_groups: true },
    });
    const agent = f.agent();
    const { xsrf } = await signIn(agent, 'admin', 'admin-pw');
    admin = {
      get: (p) => agent.get(p),
      send: (m, p, body) => agent[m](p).set('X-XSRFToken', xsrf).send((body ?? {}) as object),
    };
  });
  afterAll(() => f.close());

  it('merges configuration, run-time and operating-system groups', async () => {
    const groups = (await admin.get('/hub/api/groups')).body as { name: string; users: string[]; sources: string[] }[];
    expect(groups.find((g) => g.name === 'physics')).toMatchObject({ users: ['alice'], sources: ['config'] });
    // Every Linux system has an account `root` whose primary group is `root`.
    expect(groups.find((g) => g.name === 'root')).toMatchObject({ sources: ['system'] });
    expect(groups.find((g) => g.name === 'root')!.users).toContain('root');
    expect((await admin.get('/hub/api/users/root')).body.groups).toContain('root');
  });

  it('creates, fills, empties and deletes a run-time group, surviving a restart', async () => {
    const made = await admin.send('post', '/hub/api/groups', { name: 'chem', users: ['bob'] });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ kind: 'group', name: 'chem', users: ['bob'], sources: ['hub'] });
    expect((await admin.send('post', '/hub/api/groups', { name: 'chem' })).status).toBe(409);
    const added = await admin.send('post', '/hub/api/groups/chem/users', { users: ['alice'] });
    expect(added.body.users).toEqual(['alice', 'bob']);
    expect((await admin.get('/hub/api/users/alice')).body.groups).toEqual(['chem', 'physics']);
    const removed = await admin.send('delete', '/hub/api/groups/chem/users', { users: ['bob'] });
    expect(removed.body.users).toEqual(['alice']);
    // A name that is no user is refused, as JupyterHub refuses it, and nothing is removed.
    const nobody = await admin.send('delete', '/hub/api/groups/chem/users', { users: ['alice', 'nosuchuser'] });
    expect(nobody.status).toBe(400);
    expect(nobody.body.message).toBe('no such user: nosuchuser');
    const db = f.hub.context.groups.get('chem');
    expect(db?.users).toEqual(['alice']);
    expect((await admin.send('delete', '/hub/api/groups/chem')).status).toBe(204);
    expect((await admin.get('/hub/api/groups/chem')).status).toBe(404);
    expect((await admin.get('/hub/api/users/alice')).body.groups).toEqual(['physics']);
  });

  it('adds members to a configuration group but never removes configured ones', async () => {
    expect((await admin.send('post', '/hub/api/groups/physics/users', { users: ['bob'] })).body.users).toEqual(['alice', 'bob']);
    const fixed = await admin.send('delete', '/hub/api/groups/physics/users', { users: ['alice'] });
    expect(fixed.status).toBe(400);
    expect(fixed.body.message).toMatch(/alice belong to physics through the site configuration/);
    const del = await admin.send('delete', '/hub/api/groups/physics');
    expect(del.status).toBe(400);
    expect(del.body.message).toMatch(/comes from the config/);
    expect((await admin.send('delete', '/hub/api/groups/physics/users', { users: ['bob'] })).body.users).toEqual(['alice']);
  });

  it("accepts JupyterHub's shapes: POST /groups/NAME and POST /groups with a list of names", async () => {
    const one = await admin.send('post', '/hub/api/groups/bio', { users: ['alice'] });
    expect(one.status).toBe(201);
    expect(one.body).toMatchObject({ kind: 'group', name: 'bio', users: ['alice'], sources: ['hub'] });
    const empty = await admin.send('post', '/hub/api/groups/geo');
    expect(empty.status).toBe(201);
    expect(empty.body).toMatchObject({ name: 'geo', users: [] });
    const again = await admin.send('post', '/hub/api/groups/bio');
    expect(again.status).toBe(409);
    expect(again.body.message).toBe('group bio already exists');
    expect((await admin.send('post', '/hub/api/groups/physics')).status).toBe(409);

    const many = await admin.send('post', '/hub/api/groups', { groups: ['astro', 'math'] });
    expect(many.status).toBe(201);
    expect(many.body).toMatchObject([
      { kind: 'group', name: 'astro', users: [] },
      { kind: 'group', name: 'math', users: [] },
    ]);
    expect(f.hub.context.groups.get('math')?.sources).toEqual(['hub']);
    // JupyterHub's `users` beside `groups`: every group made with those members.
    const withMembers = await admin.send('post', '/hub/api/groups', { groups: ['geo2', 'chem2'], users: ['alice'] });
    expect(withMembers.status).toBe(201);
    expect(withMembers.body).toMatchObject([
      { name: 'geo2', users: ['alice'] },
      { name: 'chem2', users: ['alice'] },
    ]);
    // All or nothing: one existing name and no group of the list is made.
    const clash = await admin.send('post', '/hub/api/groups', { groups: ['ocean', 'bio'] });
    expect(clash.status).toBe(409);
    expect(clash.body.message).toBe('group bio already exists');
    expect(f.hub.context.groups.get('ocean')).toBeUndefined();
    const twice = await admin.send('post', '/hub/api/groups', { groups: ['ocean', 'ocean'] });
    expect(twice.status).toBe(400);
    expect(twice.body.message).toBe('group named more than once: ocean');
    const badName = await admin.send('post', '/hub/api/groups', { groups: ['ok', '../etc'] });
    expect(badName.status).toBe(400);
    expect(badName.body.message).toMatch(/groups\.1: invalid group name/);
    expect(f.hub.context.groups.get('ok')).toBeUndefined();
    const mixed = await admin.send('post', '/hub/api/groups', { groups: ['x1'], name: 'x2' });
    expect(mixed.status).toBe(400);
    expect(mixed.body.message).toMatch(/name/);
    const noList = await admin.send('post', '/hub/api/groups', { groups: [] });
    expect(noList.status).toBe(400);
    expect(noList.body.message).toMatch(/groups:/);
    const badPath = await admin.send('post', '/hub/api/groups/..%2Fetc');
    expect(badPath.status).toBe(400);
    expect(badPath.body.message).toMatch(/invalid group name/);
    const badMember = await admin.send('post', '/hub/api/groups/ocean', { users: ['ghost'] });
    expect(badMember.status).toBe(400);
    expect(badMember.body.message).toBe('no such user: ghost');
    const extra = await admin.send('post', '/hub/api/groups/ocean', { users: [], admin: true });
    expect(extra.status).toBe(400);
    expect(extra.body.message).toMatch(/admin/);
    expect(f.hub.context.groups.get('ocean')).toBeUndefined();

    const bobAgent = f.agent();
    const { xsrf } = await signIn(bobAgent, 'bob', 'b');
    for (const [path, body] of [['/hub/api/groups/ocean', {}], ['/hub/api/groups', { groups: ['ocean'] }]] as const) {
      const refused = await bobAgent.post(path).set('X-XSRFToken', xsrf).send(body);
      expect(refused.status).toBe(403);
      expect(refused.body.message).toMatch(/needs the admin:groups scope/);
    }
    expect(f.hub.context.groups.get('ocean')).toBeUndefined();
    for (const name of ['bio', 'geo', 'astro', 'math']) expect((await admin.send('delete', `/hub/api/groups/${name}`)).status).toBe(204);
  });

  it('refuses bad input with messages that say what is wrong', async () => {
    const unknown = await admin.send('post', '/hub/api/groups', { name: 'g1', users: ['ghost'] });
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toBe('no such user: ghost');
    const badName = await admin.send('post', '/hub/api/groups', { name: '../etc' });
    expect(badName.status).toBe(400);
    expect(badName.body.message).toMatch(/name: invalid group name/);
    const extra = await admin.send('post', '/hub/api/groups/physics/users', { users: ['bob'], admin: true });
    expect(extra.status).toBe(400);
    expect(extra.body.message).toMatch(/admin/);
    const notList = await admin.send('post', '/hub/api/groups/physics/users', { users: 'bob' });
    expect(notList.status).toBe(400);
    expect(notList.body.message).toMatch(/users/);
    const encoded = await admin.get('/hub/api/groups/..%2Fx');
    expect(encoded.status).toBe(400);
    expect((await admin.get('/hub/api/groups/nosuch')).status).toBe(404);
  });
});
