/**
 * REST endpoints and pages: user profile, owner-only routes, replacing user_authorization
 * (validated, atomic, applied at once; invalid changes nothing), explain, preview, and the pages.
 */
import { readFileSync } from 'node:fs';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers.js';
import { assetVersion } from '../../src/util/static-assets.js';

const SITE = { '*': { '*': { limit: 'ALL' } }, 'group:staff': { 'group:ops': { default: ['READ', 'CONTROL'] } } };
const UA = { bob: ['READ', 'pause'] };

describe('REST API and pages', () => {
  let server: TestServer;
  const owner = { user: 'alice', xsrf: 'xsrf-token-123' };
  const bob = { user: 'bob', groups: ['ops'] };
  const authz = () => `${server.base}api/authorization`;

  beforeAll(async () => {
    server = await startTestServer({ owner: 'alice', ownerGroups: ['staff'], groups: { ops: ['bob'] }, site: SITE, ua: UA, flows: { demo: 'tasks:\n  a:\n    script: "true"\n' } });
  });
  afterAll(async () => server?.close());

  it('gives each user their profile', async () => {
    const res = await server.get(bob, `${server.base}api/userprofile`).expect(200);
    expect(res.body).toEqual({ username: 'bob', owner: 'alice', groups: ['ops'], permissions: ['pause', 'read'], workflowPermissions: [] });
    // No read anywhere: the profile, like every other way in, is refused.
    const stranger = await server.get({ user: 'zoe' }, `${server.base}api/userprofile`).expect(403);
    expect(stranger.body).toEqual({ reason: 'owner-sharing', error: expect.stringContaining('ask alice to add you') });
  });

  it('keeps connections alive far longer than the hub keeps an idle one (5 s)', async () => {
    // So the hub, not the server, closes idle connections: never one a request is on its way on.
    const target = `${server.base}api/userprofile`;
    const agent = new Agent({ keepAlive: true });
    try {
      const headers = await new Promise<IncomingHttpHeaders>((resolve, reject) => {
        const req = request(`${server.url}${target}`, { headers: server.sign(bob, 'GET', target), agent }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.headers));
        });
        req.on('error', reject);
        req.end();
      });
      expect(headers['keep-alive']).toBe('timeout=30');
    } finally {
      agent.destroy();
    }
  });

  it('keeps /api/authorization and the sharing page to the owner', async () => {
    await server.get(bob, authz()).expect(403);
    await server.put(bob, authz()).send({ bob: ['ALL'] }).expect(403);
    await server.get(bob, `${authz()}/explain?user=bob`).expect(403);
    await server.post(bob, `${authz()}/preview`).send({}).expect(403);
    // Express routes without regard to case or a trailing slash; the owner check must follow it.
    await server.get(bob, `${server.base}API/Authorization/`).expect(403);
    await server.get(bob, `${server.base}SHARING`).expect(403);
    const page = await server.get(bob, `${server.base}sharing`).expect(403);
    expect(page.text).toContain('Only alice can change sharing');
    // Names come back in their canonical spelling (READ and read are the same operation).
    expect((await server.get(owner, authz()).expect(200)).body).toEqual({ bob: ['read', 'pause'] });
  });

  it('replaces user_authorization, writes it atomically and applies it at once', async () => {
    const res = await server.put(owner, authz()).send({ bob: ['read', 'Ext-Trigger'], 'group:ops': ['READ'] }).expect(200);
    expect(res.body).toEqual({ bob: ['read', 'ext_trigger'], 'group:ops': ['read'] });
    const onDisk = JSON.parse(readFileSync(server.ownerFile, 'utf8'));
    expect(onDisk).toEqual({ WorkflowServer: { user_authorization: { bob: ['read', 'ext_trigger'], 'group:ops': ['read'] } } });
    const profile = await server.get(bob, `${server.base}api/userprofile`).expect(200);
    expect(profile.body.permissions).toEqual(['extTrigger', 'read']);
    await server.graphql(bob, 'mutation { pause(workflows: ["demo"]) { ok } }').expect(403);
    await server.put(owner, authz()).send(UA).expect(200);
  });

  it('refuses an invalid PUT with the config-check message, changing nothing', async () => {
    const before = readFileSync(server.ownerFile);
    const typo = await server.put(owner, authz()).send({ bob: ['read', '!stpo'] }).expect(400);
    expect(typo.body.error).toContain(server.ownerFile);
    expect(typo.body.error).toContain('!stpo');
    expect(typo.body.error).toContain('!stop');
    const empty = await server.put(owner, authz()).send({ bob: [] }).expect(400);
    expect(empty.body.error).toContain('bob');
    await server.put(owner, authz()).send(['READ']).expect(400);
    await server.put(owner, authz()).set('Content-Type', 'application/json').send('{"bob": [').expect(400);
    expect(readFileSync(server.ownerFile).equals(before)).toBe(true);
    expect((await server.get(bob, `${server.base}api/userprofile`)).body.permissions).toEqual(['pause', 'read']);
  });

  it('refuses an authorization body over 256 kB with 413', async () => {
    const before = readFileSync(server.ownerFile);
    const big: Record<string, string[]> = {};
    for (let i = 0; i < 20_000; i++) big[`user${i}`] = ['READ'];
    const res = await server.put(owner, authz()).send(big);
    expect(res.status).toBe(413);
    expect(res.body.error).toMatch(/too large.*256 kB/);
    expect(readFileSync(server.ownerFile).equals(before)).toBe(true);
  });

  it('explains a decision, with groups given or taken from the membership', async () => {
    const given = await server.get(owner, `${authz()}/explain?user=bob&groups=ops`).expect(200);
    expect(given.body.explanation).toMatchObject({ owner: 'alice', user: 'bob', userGroups: ['ops'], ownerGroups: ['staff'] });
    // What bob gets, and the one-line reason, match what his own userprofile says he may do.
    expect(given.body.explanation.result).toEqual(['pause', 'read']);
    expect(given.body.explanation.summary).toBe("bob on alice's server may do read + pause: the site limit (2 entries) allows everything (ALL); alice grants read + pause (under bob).");
    expect(given.body.text).toContain('bob');
    await server.put({ user: null }, '/_flotilla/membership').send({ groups: { ops: ['bob'], staff: ['alice'] } }).expect(200);
    const fromHub = await server.get(owner, `${authz()}/explain?user=bob`).expect(200);
    expect(fromHub.body.explanation.userGroups).toEqual(['ops']);
    await server.get(owner, `${authz()}/explain?user=..%2Fetc`).expect(400);
    await server.get(owner, `${authz()}/explain`).expect(400);
  });

  it('previews what everyone gets under a draft, without saving it', async () => {
    const before = readFileSync(server.ownerFile);
    const res = await server.post(owner, `${authz()}/preview`).send({ bob: ['ALL'], 'group:ops': ['READ'], '*': ['read'] }).expect(200);
    expect(res.body.valid).toBe(true);
    const byKey = Object.fromEntries(res.body.entries.map((e: { key: string; permitted: string[] }) => [e.key, e.permitted]));
    expect(byKey.bob).toContain('broadcast');
    expect(byKey['group:ops']).toEqual(['read']);
    expect(byKey['*']).toEqual(['read']);
    const bad = await server.post(owner, `${authz()}/preview`).send({ bob: ['sudo'] }).expect(200);
    expect(bad.body).toEqual({ valid: false, error: expect.stringContaining('sudo') });
    expect(readFileSync(server.ownerFile).equals(before)).toBe(true);
  });

  it('serves pages with the XSRF token, and static files to any signed-in user', async () => {
    const list = await server.get(owner, server.base).expect(200);
    expect(list.text).toContain('<meta name="_xsrf" content="xsrf-token-123">');
    expect(list.text).toContain(`/user/alice/static/${assetVersion()}/css/flotilla.css`);
    const wf = await server.get(owner, `${server.base}workflows/demo`).expect(200);
    expect(wf.text).toContain('js/workflow.js');
    const sharing = await server.get(owner, `${server.base}sharing`).expect(200);
    expect(sharing.text).toContain('js/sharing.js');
    const css = await server.get({ user: 'zoe' }, `${server.base}static/css/flotilla.css`).expect(200);
    expect(css.text).toContain('.badge');
    const escape = await server.get(owner, `${server.base}static/%2e%2e/%2e%2e/package.json`);
    expect(escape.status).toBeGreaterThanOrEqual(400);
    expect(escape.text).not.toContain('"dependencies"');
  });

  it('shows the same no-access page whether or not the owner has workflows', async () => {
    const empty = await startTestServer({ owner: 'alice', ownerGroups: ['staff'], site: SITE, ua: UA });
    try {
      const withWorkflows = await server.get({ user: 'zoe' }, server.base).expect(403);
      const without = await empty.get({ user: 'zoe' }, empty.base).expect(403);
      expect(withWorkflows.text).toContain('You do not have access to alice&#39;s workflows');
      expect(withWorkflows.text).toBe(without.text);
      await server.get({ user: 'zoe' }, `${server.base}workflows/demo`).expect(403);
    } finally {
      await empty.close();
    }
  });
});
