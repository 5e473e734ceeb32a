/**
 * An account that disappears (removed from the htpasswd file, no longer in allowed_users, or
 * blocked) leaves nothing behind: its API tokens and sessions are deleted, not merely refused, so
 * that the same name added again does not revive them; its running workflow server is stopped.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import request from 'supertest';
import { HtpasswdFile } from '../../src/htpasswd/index.js';
import { DEPARTURE_CONFIRM_MS } from '../../src/hub/auth/departed-accounts.js';
import { SESSION_COOKIE } from '../../src/hub/index.js';
import { cookieValue, makeDataDir, PASSWORDS, signIn, startHub, writeUsers, type HubFixture } from '../hub/helpers.js';

const USERS = { ...PASSWORDS, dave: 'dave-secret-6' };
// The server tests spawn real `bin/flotilla server` processes: dist/ must be built (npm run build).
const SLOW = 120_000;

/** Rows the hub's database holds for a user: API tokens and signed-in sessions. */
function storedRows(dir: string, user: string): { tokens: number; sessions: number } {
  const db = new Database(join(dir, 'hub.sqlite'), { readonly: true });
  try {
    const tokens = db.prepare('SELECT count(*) AS n FROM api_tokens WHERE user_name = ?').get(user) as { n: number };
    const sessions = db.prepare(`SELECT count(*) AS n FROM sessions WHERE json_extract(data, '$.passport.user') = ?`).get(user) as { n: number };
    return { tokens: tokens.n, sessions: sessions.n };
  } finally {
    db.close();
  }
}

/** dave signs in and makes an API token; returns his session cookie and the token. */
async function daveSignsIn(f: HubFixture): Promise<{ cookie: string; token: string }> {
  const dave = f.agent();
  const { res, xsrf } = await signIn(dave, 'dave', USERS.dave);
  const cookie = `${SESSION_COOKIE}=${cookieValue(res.headers['set-cookie'], SESSION_COOKIE)}`;
  const made = await dave.post('/hub/api/users/dave/tokens').set('X-XSRFToken', xsrf).send({ note: 'script' });
  expect(made.status).toBe(201);
  return { cookie, token: made.body.token as string };
}

async function whoAmI(f: HubFixture, auth: { cookie?: string; token?: string }): Promise<number> {
  const req = request(f.url).get('/hub/api/user');
  if (auth.cookie) req.set('Cookie', auth.cookie);
  if (auth.token) req.set('Authorization', `token ${auth.token}`);
  return (await req).status;
}

describe('tokens and sessions of an account that disappears', () => {
  let f: HubFixture | undefined;
  afterEach(async () => {
    await f?.close();
    f = undefined;
  });

  it('are deleted when the name leaves the htpasswd file, and re-adding the name does not revive them', async () => {
    f = await startHub({ users: USERS });
    const { cookie, token } = await daveSignsIn(f);
    await signIn(f.agent(), 'alice');
    expect(await whoAmI(f, { token })).toBe(200);
    expect(await whoAmI(f, { cookie })).toBe(200);
    expect(storedRows(f.dir, 'dave')).toEqual({ tokens: 1, sessions: 1 });

    const file = new HtpasswdFile(join(f.dir, 'htpasswd'));
    expect(file.remove('dave')).toBe(true);
    // The hub notices on its own (it re-reads the file every few seconds).
    await vi.waitFor(() => expect(storedRows(f!.dir, 'dave')).toEqual({ tokens: 0, sessions: 0 }), { timeout: 15_000, interval: 100 });

    await file.add('dave', USERS.dave, 4);
    await vi.waitFor(() => expect(f!.hub.context.users.exists('dave')).toBe(true), { timeout: 15_000, interval: 100 });
    expect(await whoAmI(f, { token })).toBe(401);
    expect(await whoAmI(f, { cookie })).toBe(401);
    // Others keep theirs, and dave can sign in afresh.
    expect(storedRows(f.dir, 'alice')).toEqual({ tokens: 0, sessions: 1 });
    const again = await daveSignsIn(f);
    expect(await whoAmI(f, { token: again.token })).toBe(200);
  });

  it('are kept when a name is missing from one read only (a file rewritten in place, read cut at a line end)', async () => {
    f = await startHub({ users: USERS });
    const { token } = await daveSignsIn(f);
    const path = join(f.dir, 'htpasswd');
    const whole = readFileSync(path, 'utf8');
    // Cut just before dave's line: every line left is whole, so the read is clean.
    writeFileSync(path, whole.slice(0, whole.indexOf('dave:')));
    f.hub.context.users.refresh();
    expect(f.hub.context.users.exists('dave')).toBe(false);
    writeFileSync(path, whole);
    await new Promise((resolve) => setTimeout(resolve, DEPARTURE_CONFIRM_MS + 1_000));
    expect(storedRows(f.dir, 'dave')).toEqual({ tokens: 1, sessions: 1 });
    expect(await whoAmI(f, { token })).toBe(200);
  });

  it('are deleted at hub start for names blocked, not allowed or removed while the hub was down', async () => {
    const dir = makeDataDir();
    await writeUsers(dir, USERS);
    f = await startHub({ dir, users: USERS });
    const tokens: Record<string, string> = {};
    const admin = f.agent();
    const { xsrf } = await signIn(admin, 'admin');
    for (const user of ['alice', 'bob', 'carol', 'dave']) {
      tokens[user] = (await admin.post(`/hub/api/users/${user}/tokens`).set('X-XSRFToken', xsrf).send({})).body.token as string;
    }
    await f.close(true);

    // While the hub is down: dave leaves the file, bob is blocked, carol is left out of allowed_users.
    new HtpasswdFile(join(dir, 'htpasswd')).remove('dave');
    f = await startHub({ dir, hub: { authenticator: { blocked_users: ['bob'], allowed_users: ['alice', 'bob', 'dave', 'admin'] } } });
    expect(storedRows(dir, 'dave').tokens).toBe(0);
    expect(storedRows(dir, 'bob').tokens).toBe(0);
    expect(storedRows(dir, 'carol').tokens).toBe(0);
    expect(storedRows(dir, 'alice').tokens).toBe(1);
    expect(storedRows(dir, 'admin')).toEqual({ tokens: 0, sessions: 1 });
    expect(await whoAmI(f, { token: tokens.alice })).toBe(200);
    await f.close(true);

    // Everyone back: the old tokens stay dead.
    await new HtpasswdFile(join(dir, 'htpasswd')).add('dave', USERS.dave, 4);
    f = await startHub({ dir });
    for (const user of ['bob', 'carol', 'dave']) expect(await whoAmI(f, { token: tokens[user] })).toBe(401);
    expect(await whoAmI(f, { token: tokens.alice })).toBe(200);
  });

  it('are kept when the htpasswd file cannot be read at start (nothing is known to be gone)', async () => {
    const dir = makeDataDir();
    await writeUsers(dir, USERS);
    f = await startHub({ dir });
    const { token } = await daveSignsIn(f);
    await f.close(true);
    const good = readFileSync(join(dir, 'htpasswd'));
    writeFileSync(join(dir, 'htpasswd'), 'this line is not an htpasswd entry\n');
    f = await startHub({ dir });
    expect(f.hub.context.users.count).toBe(0);
    expect(storedRows(dir, 'dave').tokens).toBe(1);
    await f.close(true);
    writeFileSync(join(dir, 'htpasswd'), good);
    f = await startHub({ dir });
    expect(await whoAmI(f, { token })).toBe(200);
  });
});

describe('the workflow server of an account that disappears', () => {
  let f: HubFixture;
  afterEach(async () => {
    for (const s of f.hub.context.servers.spawner.list()) await f.hub.context.servers.stop(s.owner);
    await f.close();
  }, SLOW);

  async function startServerOf(owner: string, admin: ReturnType<HubFixture['agent']>, xsrf: string) {
    const flow = join(f.dir, 'users', owner, 'workflows', 'hello');
    mkdirSync(flow, { recursive: true });
    writeFileSync(join(flow, 'flow.yaml'), 'tasks:\n  greet:\n    script: echo hello\n');
    expect([201, 202]).toContain((await admin.post(`/hub/api/users/${owner}/server`).set('X-XSRFToken', xsrf).send({})).status);
    await vi.waitFor(() => expect(f.hub.context.servers.status(owner)).toBe('running'), { timeout: 90_000, interval: 200 });
    return f.hub.context.servers.spawner.info(owner)!.pid;
  }

  function alive(pid: number): boolean {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  it('is stopped by the hub when the name leaves the htpasswd file', async () => {
    f = await startHub({ users: USERS, hub: { spawner: { start_timeout: 90, poll_interval: 1 } } });
    const admin = f.agent();
    const { xsrf } = await signIn(admin, 'admin');
    const pid = await startServerOf('dave', admin, xsrf);
    expect(alive(pid)).toBe(true);
    new HtpasswdFile(join(f.dir, 'htpasswd')).remove('dave');
    await vi.waitFor(() => expect(f.hub.context.servers.status('dave')).toBe('stopped'), { timeout: 30_000, interval: 100 });
    await vi.waitFor(() => expect(alive(pid)).toBe(false), { timeout: 30_000, interval: 100 });
  }, SLOW);

  it('is stopped at hub start when its owner was blocked while the hub was down', async () => {
    f = await startHub({ users: USERS, hub: { spawner: { start_timeout: 90, poll_interval: 1 } } });
    const admin = f.agent();
    const { xsrf } = await signIn(admin, 'admin');
    const pid = await startServerOf('dave', admin, xsrf);
    const dir = f.dir;
    await f.close(true);
    // Servers outlive their hub; the next one adopts them and then stops dave's.
    expect(alive(pid)).toBe(true);
    f = await startHub({ dir, hub: { authenticator: { blocked_users: ['dave'] }, spawner: { start_timeout: 90, poll_interval: 1 } } });
    expect(f.hub.context.servers.status('dave')).toBe('stopped');
    await vi.waitFor(() => expect(alive(pid)).toBe(false), { timeout: 30_000, interval: 100 });
  }, SLOW);

  it('can be stopped by an admin (DELETE answers 204, not 404); others still get 404', async () => {
    f = await startHub({ users: USERS, hub: { spawner: { start_timeout: 90, poll_interval: 1 } } });
    const admin = f.agent();
    const { xsrf } = await signIn(admin, 'admin');
    const bob = f.agent();
    const bobXsrf = (await signIn(bob, 'bob')).xsrf;
    const pid = await startServerOf('dave', admin, xsrf);
    new HtpasswdFile(join(f.dir, 'htpasswd')).remove('dave');
    // Read the file now rather than at the next refresh: the hub starts stopping dave's server
    // at once, and the admin's DELETE comes while it still goes.
    f.hub.context.users.refresh();
    expect(f.hub.context.users.exists('dave')).toBe(false);
    expect(f.hub.context.servers.status('dave')).not.toBe('stopped');
    const byBob = await bob.delete('/hub/api/users/dave/server').set('X-XSRFToken', bobXsrf);
    expect(byBob.status).toBe(404);
    const byAdmin = await admin.delete('/hub/api/users/dave/server').set('X-XSRFToken', xsrf);
    expect(byAdmin.status).toBe(204);
    expect(f.hub.context.servers.status('dave')).toBe('stopped');
    expect(alive(pid)).toBe(false);
  }, SLOW);
});
