import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { signIn, startHub, upgradeStatus, type HubFixture } from './helpers.js';

// Spawns real workflow servers: dist/ must be built (npm run build).
const SLOW = 120_000;
const CULLER_TOKEN = '0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f';
const PAGINATED = 'application/jupyterhub-pagination+json';

interface Served {
  method: string;
  path: string;
  status: number;
}

/**
 * jupyterhub-idle-culler 2.0's request sequence, played with fetch: the API root for the version,
 * `?state=inactive` (with --cull-users) and `?state=ready` with the pagination media type,
 * following `_pagination.next.url`; each user's `servers`, culled when `last_activity` (else
 * `started`) is older than the limit and nothing is pending; with --cull-users, DELETE of each
 * user left without servers whose activity (else `created`) is that old. Every request is logged.
 */
async function cullIdle(apiUrl: string, token: string, limitSeconds: number, options: { cullUsers: boolean; pageSize: number }) {
  const log: Served[] = [];
  const call = async (method: string, url: string, accept = 'application/json') => {
    const res = await fetch(url, { method, headers: { Authorization: `token ${token}`, Accept: accept } });
    log.push({ method, path: new URL(url).pathname + new URL(url).search, status: res.status });
    if (res.status >= 400) throw new Error(`${method} ${url}: ${res.status} ${await res.text()}`);
    return res.status === 204 || res.status === 202 ? { status: res.status, body: undefined } : { status: res.status, body: (await res.json()) as unknown };
  };
  async function* paginated(url: string) {
    let next: string | null = url;
    while (next) {
      const { body } = await call('GET', next, PAGINATED);
      const page = body as { items: Record<string, unknown>[]; _pagination: { next: { url: string } | null } };
      next = page._pagination.next?.url ?? null;
      yield* page.items;
    }
  }
  const version = ((await call('GET', `${apiUrl}/`)).body as { version: string }).version;
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const stateFilter = major > 1 || (major === 1 && minor >= 3);
  const now = Date.now();
  const idle = (at: unknown, fallback: unknown) => {
    const from = typeof at === 'string' ? Date.parse(at) : typeof fallback === 'string' ? Date.parse(fallback) : undefined;
    return from !== undefined && now - from >= limitSeconds * 1000;
  };
  const handleUser = async (user: Record<string, unknown>) => {
    const servers = (user.servers ?? {}) as Record<string, { pending: string | null; ready: boolean; last_activity: string | null; started: string | null }>;
    let alive = 0;
    for (const [name, server] of Object.entries(servers)) {
      if (server.pending || !server.ready || !idle(server.last_activity, server.started)) {
        alive++;
        continue;
      }
      const path = name ? `/users/${user.name as string}/servers/${name}` : `/users/${user.name as string}/server`;
      if ((await call('DELETE', `${apiUrl}${path}`)).status === 202) alive++;
    }
    if (!options.cullUsers || alive > 0 || !idle(user.last_activity, user.created)) return;
    await call('DELETE', `${apiUrl}/users/${user.name as string}`);
  };
  const limit = `limit=${options.pageSize}`;
  const seen: Record<string, unknown>[] = [];
  if (stateFilter && options.cullUsers) for await (const user of paginated(`${apiUrl}/users?state=inactive&${limit}`)) seen.push(user);
  for await (const user of paginated(`${apiUrl}/users?${stateFilter ? 'state=ready&' : ''}${limit}`)) seen.push(user);
  for (const user of seen) await handleUser(user);
  return { log, seen };
}

describe('jupyterhub-idle-culler 2.0 against a real hub', () => {
  let f: HubFixture;
  let apiUrl: string;
  let admin: ReturnType<HubFixture['agent']>;
  let adminXsrf: string;

  const writeFlow = (owner: string) => {
    const flow = join(f.dir, 'users', owner, 'workflows', 'hello');
    mkdirSync(flow, { recursive: true });
    writeFileSync(join(flow, 'flow.yaml'), 'tasks:\n  greet:\n    script: echo hello\n');
  };
  const start = async (owner: string) => {
    writeFlow(owner);
    const res = await admin.post(`/hub/api/users/${owner}/server`).set('X-XSRFToken', adminXsrf).send({});
    expect([201, 202]).toContain(res.status);
    await vi.waitFor(() => expect(f.hub.context.servers.status(owner)).toBe('running'), { timeout: 90_000, interval: 200 });
  };

  beforeAll(async () => {
    // The culler's README configuration, in our JSON: a service with a token and its role.
    f = await startHub({
      hub: {
        services: [{ name: 'jupyterhub-idle-culler-service', api_token: CULLER_TOKEN }],
        load_roles: [
          {
            name: 'jupyterhub-idle-culler-role',
            scopes: ['list:users', 'read:users:activity', 'read:servers', 'delete:servers', 'admin:users'],
            services: ['jupyterhub-idle-culler-service'],
          },
          { name: 'watch-alice', scopes: ['access:servers!user=alice'], users: ['bob'] },
        ],
        spawner: { start_timeout: 90, poll_interval: 1 },
      },
      server: { site_authorization: { alice: { bob: { default: ['READ', 'CONTROL'] } } } },
    });
    apiUrl = `${f.url}/hub/api`;
    admin = f.agent();
    adminXsrf = (await signIn(admin, 'admin')).xsrf;
    await start('alice');
    await start('bob');
  }, SLOW);

  afterAll(async () => {
    for (const s of f.hub.context.servers.spawner.list()) await f.hub.context.servers.stop(s.owner);
    await f.close();
  }, SLOW);

  it('a read-only monitoring token reads a shared server and is refused its controls; a full token is not', async () => {
    const bob = f.agent();
    const { xsrf } = await signIn(bob, 'bob');
    // What the home page's "Read-only monitoring" choice asks for, as the page script does.
    const home = await bob.get('/hub/home');
    const monitorScopes = JSON.parse(/data-monitor-scopes="([^"]*)"/.exec(home.text)![1]!.replaceAll('&#34;', '"')) as string[];
    expect(monitorScopes).toEqual(['access:servers!user=alice', 'access:servers!user=bob', 'custom:workflows:read']);
    const made = await bob.post('/hub/api/users/bob/tokens').set('X-XSRFToken', xsrf).send({ scopes: monitorScopes, note: 'monitor' });
    expect(made.status).toBe(201);
    const readOnly = made.body.token as string;
    const full = (await bob.post('/hub/api/users/bob/tokens').set('X-XSRFToken', xsrf).send({})).body.token as string;
    const graphql = (token: string, query: string) =>
      fetch(`${f.url}/user/alice/graphql`, { method: 'POST', headers: { Authorization: `token ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ query }) });
    const read = await graphql(readOnly, '{ workflows { id } }');
    expect(read.status).toBe(200);
    expect(((await read.json()) as { data: { workflows: { id: string }[] } }).data.workflows.map((w) => w.id)).toEqual(['hello']);
    const play = 'mutation { play(workflows: ["hello"]) { ok message } }';
    const refused = await graphql(readOnly, play);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ errors: [{ extensions: { code: 'FORBIDDEN', operation: 'play' } }] });
    // The same user with a full token may: the ceiling came from the token alone.
    const allowed = await graphql(full, play);
    expect(allowed.status).toBe(200);
    expect(((await allowed.json()) as { data: { play: { ok: boolean }[] } }).data.play[0]!.ok).toBe(true);
    // Subscriptions follow the token's scopes too: the read-only token may open one; a token
    // without access:servers for alice may not, though bob himself may.
    const socket = `${f.url.replace('http', 'ws')}/user/alice/subscriptions`;
    expect(await upgradeStatus(socket, { Authorization: `token ${readOnly}` })).toBe(101);
    const narrow = (await bob.post('/hub/api/users/bob/tokens').set('X-XSRFToken', xsrf).send({ scopes: ['access:servers!user=bob'] })).body.token as string;
    expect(await upgradeStatus(socket, { Authorization: `token ${narrow}` })).toBe(404);
    expect((await graphql(narrow, '{ workflows { id } }')).status).toBe(404);
  }, SLOW);

  it('plays the culler\'s sequence: culls the idle server and spares the active one; the stopped server\'s activity survives', async () => {
    // Long enough that the active server, used just before the run, cannot look idle on a loaded machine.
    const limitSeconds = 5;
    // alice's server goes idle; bob's is used right before the run.
    await vi.waitFor(
      async () => {
        const alice = (await admin.get('/hub/api/users/alice').set('Accept', 'application/json')).body;
        expect(Date.now() - Date.parse(alice.servers[''].last_activity)).toBeGreaterThanOrEqual(limitSeconds * 1000);
      },
      { timeout: 30_000, interval: 250 },
    );
    const bobToken = (await admin.post('/hub/api/users/bob/tokens').set('X-XSRFToken', adminXsrf).send({})).body.token as string;
    expect((await fetch(`${f.url}/user/bob/api/userprofile`, { headers: { Authorization: `token ${bobToken}` } })).status).toBe(200);
    const aliceActive = (await admin.get('/hub/api/users/alice').set('Accept', 'application/json')).body.servers[''].last_activity as string;

    const { log } = await cullIdle(apiUrl, CULLER_TOKEN, limitSeconds, { cullUsers: false, pageSize: 2 });
    expect(log.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual(['GET /hub/api/ 200', 'GET /hub/api/users?state=ready&limit=2 200', 'DELETE /hub/api/users/alice/server 204']);
    expect(f.hub.context.servers.status('alice')).toBe('stopped');
    expect(f.hub.context.servers.status('bob')).toBe('running');
    const alice = (await admin.get('/hub/api/users/alice?include_stopped_servers').set('Accept', 'application/json')).body;
    expect(alice.last_activity).toBe(aliceActive);
    expect(alice.servers['']).toMatchObject({ stopped: true, ready: false, last_activity: aliceActive });
    expect((await admin.get('/hub/api/users/alice').set('Accept', 'application/json')).body.servers).toEqual({});
  }, SLOW);

  it('with --cull-users, deletes the idle users without servers (the hub forgets them; the accounts stay), not those using the hub', async () => {
    // Long enough that the active server, used just before the run, cannot look idle on a loaded machine.
    const limitSeconds = 5;
    for (const owner of ['alice', 'carol', 'admin', 'mallory']) {
      await vi.waitFor(() => {
        const t = f.hub.context.activity.get(owner)!;
        expect(Date.now() - (t.lastActivity ?? t.created)).toBeGreaterThanOrEqual(limitSeconds * 1000);
      }, { timeout: 30_000, interval: 250 });
    }
    const bobToken = (await admin.post('/hub/api/users/bob/tokens').set('X-XSRFToken', adminXsrf).send({})).body.token as string;
    expect((await fetch(`${f.url}/user/bob/api/userprofile`, { headers: { Authorization: `token ${bobToken}` } })).status).toBe(200);
    const carolToken = (await admin.post('/hub/api/users/carol/tokens').set('X-XSRFToken', adminXsrf).send({})).body.token as string;
    const carolCreated = f.hub.context.activity.get('carol')!.created;

    const { log } = await cullIdle(apiUrl, CULLER_TOKEN, limitSeconds, { cullUsers: true, pageSize: 2 });
    const requests = log.map((r) => `${r.method} ${r.path} ${r.status}`);
    // The version, the inactive users page by page (4 of them, 2 a page), then the ready ones.
    expect(requests.slice(0, 4)).toEqual([
      'GET /hub/api/ 200',
      'GET /hub/api/users?state=inactive&limit=2 200',
      'GET /hub/api/users?state=inactive&limit=2&offset=2 200',
      'GET /hub/api/users?state=ready&limit=2 200',
    ]);
    // admin, idle a moment ago, has just used the hub (the tokens above): active, so spared.
    expect(requests.slice(4).sort()).toEqual(['DELETE /hub/api/users/alice 204', 'DELETE /hub/api/users/carol 204', 'DELETE /hub/api/users/mallory 204']);
    expect((await admin.get('/hub/api/users/admin').set('Accept', 'application/json')).body.last_activity).toEqual(expect.any(String));
    expect(f.hub.context.servers.status('bob')).toBe('running');
    expect((await fetch(`${apiUrl}/user`, { headers: { Authorization: `token ${carolToken}` } })).status).toBe(401);
    expect((await fetch(`${apiUrl}/user`, { headers: { Authorization: `token ${bobToken}` } })).status).toBe(200);
    expect(f.hub.context.users.exists('carol')).toBe(true);
    expect(f.hub.context.activity.get('carol')!.created).toBeGreaterThan(carolCreated);
  }, SLOW);

  it('streams a start\'s progress as JupyterHub\'s event stream, ending with ready and the URL', async () => {
    writeFlow('carol');
    const started = f.hub.context.servers.startInBackground('carol');
    const res = await fetch(`${apiUrl}/users/carol/server/progress`, { headers: { Authorization: `token ${CULLER_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = (await res.text())
      .split('\n\n')
      .filter((chunk) => chunk.startsWith('data: '))
      .map((chunk) => JSON.parse(chunk.slice('data: '.length)) as Record<string, unknown>);
    await started;
    expect(events.at(-1)).toMatchObject({ progress: 100, ready: true, url: '/user/carol/' });
    for (const e of events) expect(e).toEqual(expect.objectContaining({ progress: expect.any(Number), message: expect.any(String) }));
    // Each step is pushed as the spawner reaches it, in order, ending with ready.
    const order = ['requested', 'launched', 'listening', 'ready'];
    const steps = events.map((e) => order.indexOf(e.step as string));
    expect(steps).not.toContain(-1);
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    expect(new Set(steps).size).toBe(steps.length);
    expect(events.map((e) => e.step)).toContain('listening');
    // Once running, the stream is one ready event.
    const again = await (await fetch(`${apiUrl}/users/carol/server/progress`, { headers: { Authorization: `token ${CULLER_TOKEN}` } })).text();
    expect(again.trim().split('\n\n')).toHaveLength(1);
    // The default server by its empty name, as JupyterHub's route allows.
    const byName = await fetch(`${apiUrl}/users/carol/servers//progress`, { headers: { Authorization: `token ${CULLER_TOKEN}` } });
    expect(byName.status).toBe(200);
    expect(await byName.text()).toBe(again);
    expect((await fetch(`${apiUrl}/users/mallory/server/progress`, { headers: { Authorization: `token ${CULLER_TOKEN}` } })).status).toBe(400);
  }, SLOW);

  it('takes activity reported through the API as the running server\'s own, which is what the culler reads', async () => {
    expect(f.hub.context.servers.status('bob')).toBe('running');
    const report = (body: unknown) => admin.post('/hub/api/users/bob/activity').set('X-XSRFToken', adminXsrf).send(body as object);
    const serverActivity = async () => (await admin.get('/hub/api/users/bob').set('Accept', 'application/json')).body.servers[''].last_activity as string;
    const before = Date.parse(await serverActivity());
    // A keep-alive from outside the proxy (a kernel's activity, say) after the last proxied request.
    await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(before + 50));
    const at = new Date(Date.now() - 10).toISOString();
    expect((await report({ servers: { '': { last_activity: at } } })).status).toBe(200);
    expect(await serverActivity()).toBe(at);
    expect((await admin.get('/hub/api/users/bob').set('Accept', 'application/json')).body.last_activity).toBe(at);
    // An older report never moves it back.
    expect((await report({ servers: { '': { last_activity: new Date(before).toISOString() } } })).status).toBe(200);
    expect(await serverActivity()).toBe(at);
    // A body that reports nothing is refused, as JupyterHub refuses it.
    const empty = await report({});
    expect(empty.status).toBe(400);
    expect(empty.body.message).toMatch(/last_activity, servers, or both/);
  }, SLOW);
});
