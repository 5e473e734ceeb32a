import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import request from 'supertest';
import { signIn, startHub, waitFor, type HubFixture } from './helpers.js';

describe('API tokens', () => {
  let f: HubFixture;
  beforeAll(async () => {
    f = await startHub();
  });
  afterAll(() => f.close());

  it('lives through create (shown once), use, list and revoke', async () => {
    const agent = f.agent();
    const { xsrf } = await signIn(agent, 'alice');
    const created = await agent.post('/hub/api/users/alice/tokens').set('X-XSRFToken', xsrf).send({ note: 'ci script' });
    expect(created.status).toBe(201);
    const token = created.body.token as string;
    expect(token).toMatch(/^flt_[A-Za-z0-9_-]{43}$/);
    expect(created.body).toMatchObject({ user: 'alice', note: 'ci script', expires_at: null });

    // Only a hash is stored.
    const db = new Database(join(f.dir, 'hub.sqlite'), { readonly: true });
    const rows = db.prepare('SELECT hash FROM api_tokens').all() as { hash: string }[];
    db.close();
    expect(rows.map((r) => r.hash)).toContain(createHash('sha256').update(token).digest('hex'));
    expect(JSON.stringify(rows)).not.toContain(token);

    for (const scheme of ['token', 'Bearer', 'TOKEN']) {
      const me = await request(f.url).get('/hub/api/user').set('Authorization', `${scheme} ${token}`);
      expect(me.status).toBe(200);
      expect(me.body.name).toBe('alice');
    }
    const listed = await agent.get('/hub/api/users/alice/tokens');
    expect(listed.body.api_tokens).toHaveLength(1);
    expect(listed.body.api_tokens[0]).toEqual({
      kind: 'api_token',
      id: created.body.id,
      user: 'alice',
      note: 'ci script',
      created: created.body.created,
      expires_at: null,
      last_activity: expect.any(String),
      roles: [],
      scopes: created.body.scopes,
      session_id: null,
      oauth_client: 'JupyterHub',
    });
    // The home page lists it with when it was last used, as a <time> the browser shows in its own locale.
    const home = await agent.get('/hub/home').expect(200);
    expect(home.text).toContain('<th>Last used</th>');
    const row = home.text.slice(home.text.indexOf(`data-id="${created.body.id}"`));
    const times = [...row.slice(0, row.indexOf('</tr>')).matchAll(/<time datetime="([^"]+)">[^<]+ UTC<\/time>/g)].map((m) => m[1]);
    expect(times).toEqual([created.body.created, listed.body.api_tokens[0].last_activity]);
    // A token made without scopes has all of its owner's (JupyterHub's `inherit`).
    expect(created.body.scopes).toEqual((await agent.get('/hub/api/user')).body.scopes);
    expect(JSON.stringify(listed.body)).not.toContain(token);

    // Token-authenticated writes need no XSRF token.
    const second = await request(f.url).post('/hub/api/users/alice/tokens').set('Authorization', `token ${token}`).send({});
    expect(second.status).toBe(201);

    const revoked = await agent.delete(`/hub/api/users/alice/tokens/${created.body.id}`).set('X-XSRFToken', xsrf);
    expect(revoked.status).toBe(204);
    const after = await request(f.url).get('/hub/api/user').set('Authorization', `token ${token}`);
    expect(after.status).toBe(401);
    expect(after.body.message).toBe('invalid or expired API token');
    expect((await agent.delete(`/hub/api/users/alice/tokens/${created.body.id}`).set('X-XSRFToken', xsrf)).status).toBe(404);
  });

  it('refuses tokens in URLs with a clear 400', async () => {
    const agent = f.agent();
    const { xsrf } = await signIn(agent, 'bob');
    const { body } = await agent.post('/hub/api/users/bob/tokens').set('X-XSRFToken', xsrf).send({});
    for (const path of [`/hub/api/user?token=${body.token}`, `/user/bob/?token=${body.token}`, `/hub/home?Token=x`]) {
      const res = await request(f.url).get(path);
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(/not accepted in URLs/);
    }
  });

  it('expires tokens', async () => {
    const agent = f.agent();
    const { xsrf } = await signIn(agent, 'carol');
    const { body } = await agent.post('/hub/api/users/carol/tokens').set('X-XSRFToken', xsrf).send({ expires_in: 1 });
    expect(body.expires_at).not.toBeNull();
    await waitFor('token expiry', async () => (await request(f.url).get('/hub/api/user').set('Authorization', `token ${body.token}`)).status === 401, 10_000);
    expect((await agent.get('/hub/api/users/carol/tokens')).body.api_tokens).toEqual([]);
  });

  it('lets admins make tokens for others, and nobody else', async () => {
    const admin = f.agent();
    const { xsrf } = await signIn(admin, 'admin');
    const made = await admin.post('/hub/api/users/bob/tokens').set('X-XSRFToken', xsrf).send({ note: 'by admin' });
    expect(made.status).toBe(201);
    expect((await request(f.url).get('/hub/api/user').set('Authorization', `token ${made.body.token}`)).body.name).toBe('bob');

    const carol = f.agent();
    const c = await signIn(carol, 'carol');
    const refused = await carol.post('/hub/api/users/bob/tokens').set('X-XSRFToken', c.xsrf).send({});
    const unknown = await carol.post('/hub/api/users/nosuchuser/tokens').set('X-XSRFToken', c.xsrf).send({});
    // JupyterHub's answer for both: 403, the same message whether the user exists or not.
    expect(refused.status).toBe(403);
    expect(unknown.status).toBe(403);
    expect(refused.body.message.replace('bob', 'X')).toBe(unknown.body.message.replace('nosuchuser', 'X'));
    expect((await carol.get('/hub/api/users/bob/tokens')).status).toBe(404);
  });

  it('validates token requests', async () => {
    const agent = f.agent();
    const { xsrf } = await signIn(agent, 'alice');
    const bad = await agent.post('/hub/api/users/alice/tokens').set('X-XSRFToken', xsrf).send({ expires_in: -5, extra: 1 });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/expires_in/);
    expect(bad.body.message).toMatch(/extra/);
    const notJson = await agent.post('/hub/api/users/alice/tokens').set('X-XSRFToken', xsrf).set('Content-Type', 'application/json').send('{"note":');
    expect(notJson.status).toBe(400);
    expect(notJson.body.message).toMatch(/not valid JSON/);
    const huge = await agent.post('/hub/api/users/alice/tokens').set('X-XSRFToken', xsrf).send({ note: 'x'.repeat(100_000) });
    expect(huge.status).toBe(413);
    const noXsrf = await agent.post('/hub/api/users/alice/tokens').send({});
    expect(noXsrf.status).toBe(403);
    expect(noXsrf.body.message).toMatch(/XSRF/);
    // A body is read as JSON whatever its Content-Type (curl -d sends a form's): narrowed scopes
    // are never dropped unread, which would make a token with all of its owner's.
    const narrow = JSON.stringify({ scopes: ['read:users!user=alice'], note: 'narrow' });
    const asJson = await agent.post('/hub/api/users/alice/tokens').set('X-XSRFToken', xsrf).set('Content-Type', 'application/json').send(narrow);
    expect(asJson.body.scopes).toContain('read:users!user=alice');
    expect(asJson.body.scopes).not.toContain('tokens!user=alice');
    for (const type of ['application/x-www-form-urlencoded', 'text/plain', '']) {
      const sent = await agent.post('/hub/api/users/alice/tokens').set('X-XSRFToken', xsrf).set('Content-Type', type).send(narrow);
      expect(sent.status, type).toBe(201);
      expect(sent.body.note).toBe('narrow');
      expect(sent.body.scopes).toEqual(asJson.body.scopes);
    }
    const form = await agent.post('/hub/api/users/alice/tokens').set('X-XSRFToken', xsrf).type('form').send({ note: 'a form' });
    expect(form.status).toBe(400);
    expect(form.body.message).toMatch(/not valid JSON/);
    const badHeader = await request(f.url).get('/hub/api/user').set('Authorization', 'Basic YWxpY2U6eA==');
    expect(badHeader.status).toBe(401);
  });
});
