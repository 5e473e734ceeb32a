/**
 * POST and DELETE /hub/api/accounts against a real hub: the scope is checked before the body, two
 * adds of one new name race to one 201 and one 409, and a removal itself ends the account's
 * sessions, API tokens and workflow server, even while a bad htpasswd line keeps the hub from
 * treating missing names as gone. The browser side is test/browser/admin-accounts.test.ts.
 */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NAME_HTML_PATTERN } from '../../src/config/names.js';
import { startHub, signIn, type HubFixture } from './helpers.js';

// Starting a workflow server spawns `bin/flotilla server` from dist/ (npm run build).
const SLOW = 120_000;

describe('the accounts API', () => {
  let f: HubFixture;
  let adminToken: string;
  const htpasswd = () => readFileSync(join(f.dir, 'htpasswd'), 'utf8');
  const sessionsOf = (user: string): number => {
    const db = new Database(join(f.dir, 'hub.sqlite'), { readonly: true });
    try {
      return (db.prepare(`SELECT count(*) AS n FROM sessions WHERE json_extract(data, '$.passport.user') = ?`).get(user) as { n: number }).n;
    } finally {
      db.close();
    }
  };
  const asAdmin = (req: request.Test) => req.set('Authorization', `token ${adminToken}`);

  beforeAll(async () => {
    f = await startHub({
      hub: { load_roles: [{ name: 'carers', scopes: ['admin:users!user=alice', 'admin:users!user=ghost', 'list:users'], users: ['carol'] }] },
    });
    adminToken = f.hub.context.tokens.create('admin', { note: 'accounts test' }).token;
  });
  afterAll(async () => {
    for (const s of f.hub.context.servers.spawner.list()) await f.hub.context.servers.stop(s.owner);
    await f.close();
  }, SLOW);

  it('refuses a caller without unfiltered admin:users before looking at the body', async () => {
    const carol = f.agent();
    const { xsrf } = await signIn(carol, 'carol');
    for (const body of [{ name: 'b ob', password: 'x' }, { name: 'newcomer' }, {}]) {
      const res = await carol.post('/hub/api/accounts').set('X-XSRFToken', xsrf).send(body);
      expect(res.status).toBe(403);
      expect(res.body.message).toContain('requires any of [admin:users]');
    }
    expect(htpasswd()).not.toContain('newcomer:');
    // The same bad body from an administrator is explained.
    const bad = await asAdmin(request(f.url).post('/hub/api/accounts')).send({ name: 'b ob', password: 'x' });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain('name: invalid user name');
  });

  it('offers "Add account" on the admin page only to holders of unfiltered admin:users, with the name rule', async () => {
    const carol = f.agent();
    await signIn(carol, 'carol');
    const filtered = await carol.get('/hub/admin');
    expect(filtered.status).toBe(200);
    expect(filtered.text).not.toContain('id="account-form"');
    // Removing is offered where the grant reaches: alice's row, not bob's.
    const row = (user: string) => new RegExp(`<tr data-user="${user}">(?:(?!</tr>)[\\s\\S])*</tr>`).exec(filtered.text)?.[0] ?? '';
    expect(row('alice')).toContain('remove-account');
    expect(row('bob')).toContain('>bob<');
    expect(row('bob')).not.toContain('remove-account');
    const admin = f.agent();
    await signIn(admin, 'admin');
    const page = await admin.get('/hub/admin');
    expect(page.text).toContain('id="account-form"');
    expect(page.text).toContain(`pattern="${NAME_HTML_PATTERN}"`);
  });

  it('gives one 201 and one 409 to two adds of the same new name at once', async () => {
    const add = (password: string) => asAdmin(request(f.url).post('/hub/api/accounts')).send({ name: 'twin', password });
    const answers = await Promise.all([add('first-pw'), add('second-pw')]);
    expect(answers.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(answers.find((r) => r.status === 409)!.body.message).toBe('twin already has an account');
    expect(htpasswd().split('\n').filter((line) => line.startsWith('twin:'))).toHaveLength(1);
    // The password is the one of the add that won, not replaced by the other.
    const winner = answers[0]!.status === 201 ? 'first-pw' : 'second-pw';
    expect(await f.hub.context.users.verify('twin', winner)).toBe(true);
  });

  it('lets a grant naming an entry that signs no one in remove it, and no other filtered grant', async () => {
    const carol = f.agent();
    const { xsrf } = await signIn(carol, 'carol');
    // ghost is in the file with a hash cut short: an entry, but no account.
    appendFileSync(join(f.dir, 'htpasswd'), 'ghost:$2y$04$cutshort\n');
    f.hub.context.users.refresh();
    expect(f.hub.context.users.exists('ghost')).toBe(false);
    expect((await carol.delete('/hub/api/accounts/bob').set('X-XSRFToken', xsrf)).status).toBe(404);
    expect(htpasswd()).toContain('bob:');
    expect((await carol.delete('/hub/api/accounts/ghost').set('X-XSRFToken', xsrf)).status).toBe(204);
    expect(htpasswd()).not.toContain('ghost:');
  });

  it(
    'ends the sessions, API tokens and server of a removed account even while a bad line is in the file',
    async () => {
      const bob = f.agent();
      await signIn(bob, 'bob');
      expect(sessionsOf('bob')).toBe(1);
      const bobToken = f.hub.context.tokens.create('bob', { note: 'script' }).token;
      const flow = join(f.dir, 'users', 'bob', 'workflows', 'hello');
      mkdirSync(flow, { recursive: true });
      writeFileSync(join(flow, 'flow.yaml'), 'tasks:\n  greet:\n    script: echo hello\n');
      await f.hub.context.servers.startInBackground('bob');
      expect(f.hub.context.servers.status('bob')).toBe('running');

      // A truncated hash: the rest of the file still works, but is no evidence that a name is gone.
      appendFileSync(join(f.dir, 'htpasswd'), 'zoe:$2y$04$cutshort\n');
      f.hub.context.users.refresh();
      expect(f.hub.context.users.loaded).toBe(false);

      expect((await asAdmin(request(f.url).delete('/hub/api/accounts/bob'))).status).toBe(204);
      expect(htpasswd()).not.toContain('bob:');
      expect(f.hub.context.servers.status('bob')).toBe('stopped');
      expect(f.hub.context.tokens.holders().has('bob')).toBe(false);
      expect(sessionsOf('bob')).toBe(0);
      expect((await bob.get('/hub/api/user')).status).toBe(401);
      expect((await request(f.url).get('/hub/api/user').set('Authorization', `token ${bobToken}`)).status).toBe(401);
    },
    SLOW,
  );
});
