import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { chromiumAvailable, launchBrowser } from '../browser/harness.js';
import request from 'supertest';
import WebSocket from 'ws';
import { createHub, SESSION_COOKIE, type Hub } from '../../src/hub/index.js';
import { cookieValue, makeDataDir, signIn, testConfig, waitFor, writeUsers } from './helpers.js';

const SHOTS = resolve(import.meta.dirname, '..', '..', 'test-results');
const SLOW = 180_000;

const PASSWORDS = {
  sam: 'sam-support-1',
  alice: 'alice-secret-1',
  bob: 'bob-secret-2',
  carol: 'carol-secret-3',
  dave: 'dave-secret-4',
  admin: 'admin-secret-5',
};

const FLOWS: Record<string, Record<string, string>> = {
  alice: {
    nightly: 'tasks:\n  fetch:\n    script: echo fetched\n  check:\n    script: exit 3\n    depends: [fetch]\n',
    report: 'tasks:\n  write:\n    script: echo report\n',
  },
  bob: { ingest: 'tasks:\n  load:\n    script: echo loaded\n' },
  carol: { secret: 'tasks:\n  hide:\n    script: echo hidden\n' },
  dave: { archive: 'tasks:\n  pack:\n    script: echo packed\n' },
};

/** A loopback port nobody listens on: the hub's bind_url must name its real port. */
async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  await new Promise((done) => probe.close(done));
  return port;
}

interface Message {
  type: string;
  id?: string;
  payload?: { data?: { deltas?: { workflow: string; added?: { workflow?: { id: string } } } } };
}

/** A graphql-transport-ws client as a script would write it: `ws`, a token, no Origin. */
function watch(url: string, owner: string, token: string) {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/user/${owner}/subscriptions`, 'graphql-transport-ws', {
    headers: { Authorization: `token ${token}` },
  });
  const messages: Message[] = [];
  ws.on('message', (data) => messages.push(JSON.parse(data.toString()) as Message));
  ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init' })));
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString()) as Message;
    if (m.type === 'connection_ack') {
      ws.send(JSON.stringify({ id: owner, type: 'subscribe', payload: { query: 'subscription { deltas { workflow added { workflow { id status } } updated { workflow } } }' } }));
    }
  });
  const refused = new Promise<number>((done) => ws.on('unexpected-response', (_req, res) => done(res.statusCode ?? 0)));
  ws.on('error', () => undefined);
  const addedIds = () => messages.flatMap((m) => (m.type === 'next' && m.payload?.data?.deltas?.added?.workflow ? [m.payload.data.deltas.added.workflow.id] : []));
  return { ws, messages, refused, addedIds };
}

/**
 * The monitor across owners, with a real hub (bind_url on its real port, so that workflow
 * servers accept the browser's Origin) and real workflow servers: sam watches alice and bob, who
 * share READ with him; carol shares nothing; dave's server is stopped and sam may start it.
 */
describe('monitor across owners', () => {
  let hub: Hub;
  let url: string;
  let dir: string;
  let samToken: string;
  let aliceToken: string;

  beforeAll(async () => {
    dir = makeDataDir();
    await writeUsers(dir, PASSWORDS);
    for (const [owner, flows] of Object.entries(FLOWS)) {
      for (const [name, yaml] of Object.entries(flows)) {
        mkdirSync(join(dir, 'users', owner, 'workflows', name), { recursive: true });
        writeFileSync(join(dir, 'users', owner, 'workflows', name, 'flow.yaml'), yaml);
      }
    }
    for (const owner of ['alice', 'bob', 'dave']) {
      writeFileSync(join(dir, 'users', owner, 'jupyter_config.json'), JSON.stringify({ WorkflowServer: { user_authorization: { sam: ['READ'] } } }));
    }
    const port = await freePort();
    const config = testConfig(
      dir,
      {
        bind_url: `http://127.0.0.1:${port}`,
        load_roles: [
          {
            name: 'support',
            scopes: ['access:servers!user=alice', 'access:servers!user=bob', 'access:servers!user=carol', 'access:servers!user=dave', 'servers!user=dave'],
            users: ['sam'],
          },
        ],
        spawner: { start_timeout: 90, poll_interval: 1 },
      },
      { site_authorization: { '*': { sam: { limit: 'READ' } } } },
    );
    hub = createHub(config);
    await hub.listen(port, '127.0.0.1');
    url = `http://127.0.0.1:${port}`;
    const admin = request.agent(url);
    const { xsrf } = await signIn(admin, 'admin', PASSWORDS.admin);
    samToken = (await admin.post('/hub/api/users/sam/tokens').set('X-XSRFToken', xsrf).send({ note: 'monitor script' })).body.token;
    aliceToken = (await admin.post('/hub/api/users/alice/tokens').set('X-XSRFToken', xsrf).send({})).body.token;
    expect(samToken).toMatch(/^flt_/);
    await Promise.all(['alice', 'bob', 'carol'].map((owner) => hub.context.servers.spawner.start(owner)));
  }, SLOW);

  afterAll(async () => {
    for (const s of hub.context.servers.spawner.list()) await hub.context.servers.stop(s.owner);
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  }, SLOW);

  it('lists the reachable owners as JSON for scripts and the page, with what the caller may do', async () => {
    const res = await request(url).get('/hub/monitor/owners').set('Authorization', `token ${samToken}`);
    expect(res.status).toBe(200);
    const owners = res.body.owners as { name: string; status: string; mayStart: boolean }[];
    expect(owners.map((o) => o.name)).toEqual(['alice', 'bob', 'carol', 'dave', 'sam']);
    expect(owners.find((o) => o.name === 'dave')).toEqual({ name: 'dave', status: 'stopped', mayStart: true });
    expect(owners.find((o) => o.name === 'alice')).toEqual({ name: 'alice', status: 'running', mayStart: false });
    expect((await request(url).get('/hub/monitor/owners')).status).toBe(401);
    const anonymous = await request(url).get('/hub/monitor');
    expect(anonymous.status).toBe(302);
    expect(anonymous.headers.location).toBe('/hub/login?next=%2Fhub%2Fmonitor');
  });

  it('a script with a token and no Origin receives deltas from two owners through the hub', async () => {
    const alice = watch(url, 'alice', samToken);
    const bob = watch(url, 'bob', samToken);
    const carol = watch(url, 'carol', samToken);
    try {
      await waitFor('the first added bursts', () => alice.addedIds().length === 2 && bob.addedIds().length === 1, 30_000);
      expect(alice.addedIds().sort()).toEqual(['nightly', 'report']);
      expect(bob.addedIds()).toEqual(['ingest']);
      // carol does not share: her server refuses the upgrade, and the script sees why.
      expect(await carol.refused).toBe(403);
      // Live: playing one of alice's workflows reaches the subscriber as an update.
      const played = await request(url)
        .post('/user/alice/graphql')
        .set('Authorization', `token ${aliceToken}`)
        .send({ query: 'mutation { play(workflows: ["report"]) { ok message } }' });
      expect(played.body.data.play[0].ok).toBe(true);
      await waitFor('an update with a succeeded task', () => alice.messages.some((m) => m.type === 'next' && JSON.stringify(m.payload).includes('"succeeded"')), 30_000);
    } finally {
      for (const c of [alice, bob, carol]) c.ws.terminate();
    }
    // A browser session's cookie without an Origin is still refused: only tokens may omit it.
    const signed = await signIn(request.agent(url), 'sam', PASSWORDS.sam);
    const cookie = `${SESSION_COOKIE}=${cookieValue(signed.res.headers['set-cookie'], SESSION_COOKIE)}`;
    const byCookie = new WebSocket(`${url.replace('http', 'ws')}/user/alice/subscriptions`, 'graphql-transport-ws', { headers: { Cookie: cookie } });
    byCookie.on('error', () => undefined);
    const status = await new Promise<number>((done) => {
      byCookie.on('unexpected-response', (_req, res) => done(res.statusCode ?? 0));
      byCookie.on('open', () => done(101));
    });
    byCookie.terminate();
    expect(status).toBe(403);
  }, SLOW);

  describe.skipIf(!chromiumAvailable)('in Chromium', () => {
    let browser: Browser;
    let page: Page;
    const errors: string[] = [];
    const sockets: string[] = [];

    beforeAll(async () => {
      mkdirSync(SHOTS, { recursive: true });
      browser = await launchBrowser();
      page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
      page.on('pageerror', (err) => errors.push(err.message));
      page.on('websocket', (ws) => sockets.push(new URL(ws.url()).pathname));
      await page.goto(`${url}/hub/login?next=/hub/monitor`);
      await page.fill('#username', 'sam');
      await page.fill('#password', PASSWORDS.sam);
      await Promise.all([page.waitForURL(/\/hub\/monitor/), page.click('button[type=submit]')]);
    }, SLOW);

    afterAll(async () => {
      await browser?.close();
    });

    const tile = (owner: string) => page.locator(`.owner-tile[data-owner=${owner}]`);
    const row = (owner: string, workflow: string) => page.locator(`#monitor tr[data-owner=${owner}][data-workflow=${workflow}]`);

    it('shows two owners\' workflows live, "no access" for an owner who does not share, and a stopped server', async () => {
      await waitFor('alice and bob live', async () => (await tile('alice').getAttribute('data-state')) === 'live' && (await tile('bob').getAttribute('data-state')) === 'live', 30_000);
      await waitFor('three workflows', async () => (await page.locator('#monitor tbody tr').count()) === 3, 30_000);
      expect(await page.locator('#monitor tbody tr').evaluateAll((rows) => rows.map((r) => `${r.dataset.owner}/${r.dataset.workflow}`))).toEqual([
        'alice/nightly',
        'alice/report',
        'bob/ingest',
      ]);
      expect(await row('bob', 'ingest').locator('a').first().getAttribute('href')).toBe('/user/bob/workflows/ingest');
      await waitFor('carol: no access', async () => (await tile('carol').getAttribute('data-state')) === 'no-access', 30_000);
      expect(await tile('carol').locator('.conn').textContent()).toBe('no access');
      expect(await tile('carol').locator('.detail').textContent()).toBe('carol has not shared their workflows with you. If you need them, ask carol to add you on their sharing page.');
      expect(await tile('carol').getAttribute('title')).toContain('has not given you read permission');
      expect(await tile('dave').getAttribute('data-state')).toBe('stopped');
      expect(await tile('dave').locator('button.start').isEnabled()).toBe(true);
      expect(await page.locator('.site-nav a[aria-current=page]').textContent()).toBe('Monitor');
      // One refused attempt at carol's server, and the periodic refresh does not retry it.
      expect(sockets.filter((p) => p === '/user/carol/subscriptions')).toHaveLength(1);
      await page.waitForResponse((r) => r.url().endsWith('/hub/monitor/owners'), { timeout: 30_000 });
      await page.waitForResponse((r) => r.url().endsWith('/hub/monitor/owners'), { timeout: 30_000 });
      expect(sockets.filter((p) => p === '/user/carol/subscriptions')).toHaveLength(1);
      expect(await tile('carol').getAttribute('data-state')).toBe('no-access');
    }, SLOW);

    it('updates live when an owner plays a workflow; failed and running counts stand out', async () => {
      const played = await request(url)
        .post('/user/alice/graphql')
        .set('Authorization', `token ${aliceToken}`)
        .send({ query: 'mutation { play(workflows: ["nightly"]) { ok message } }' });
      expect(played.body.data.play[0]).toMatchObject({ ok: true });
      const nightly = row('alice', 'nightly');
      await waitFor('a failed task in nightly', async () => (await nightly.locator('.count.failed').count()) === 1, 60_000);
      expect(await nightly.locator('.count.failed').textContent()).toBe('1');
      expect(await nightly.getAttribute('class')).toContain('needs-attention');
      expect(await nightly.locator('.progress-legend').textContent()).toContain('1 succeeded');
      expect(await nightly.locator('.progress > span.fill-failed').count()).toBe(1);
      // The failed task stalls nightly (it stays up for the task to be re-run), and the monitor says so.
      await nightly.locator('.status-cell .status-stalled').waitFor({ timeout: 30_000 });
      // It stands out in words as well as colour.
      expect(await nightly.locator('.attention-note.attention-stalled').textContent()).toBe('⚠ Stalled: 1 failed task holding up the rest');
      expect(await nightly.getAttribute('class')).toContain('attention-stalled');
      await waitFor('the stalled count', async () => (await page.locator('#summary').textContent())?.includes('1 stalled') ?? false, 10_000);
      await page.screenshot({ path: join(SHOTS, 'hub-monitor.png'), fullPage: true });
    }, SLOW);

    it('filters by owner or workflow and by failed or running, and keeps the filter in the address', async () => {
      await page.fill('#filter', 'bob');
      await waitFor('the owner filter', async () => (await page.locator('#monitor tbody tr').count()) === 1, 10_000);
      expect(await row('bob', 'ingest').count()).toBe(1);
      await page.fill('#filter', 'REP');
      await waitFor('the workflow filter', async () => (await row('alice', 'report').count()) === 1 && (await page.locator('#monitor tbody tr').count()) === 1, 10_000);
      await page.fill('#filter', '');
      await page.check('#only-active');
      await waitFor('only failed or running', async () => (await page.locator('#monitor tbody tr').count()) === 1, 10_000);
      expect(await row('alice', 'nightly').count()).toBe(1);
      expect(new URL(page.url()).search).toBe('?only=active');
      await page.uncheck('#only-active');
      await waitFor('the filter cleared', async () => (await page.locator('#monitor tbody tr').count()) === 3, 10_000);
    }, SLOW);

    it('starts a stopped server from its tile and watches it once it runs', async () => {
      await tile('dave').locator('button.start').click();
      await waitFor("dave's server live", async () => (await tile('dave').getAttribute('data-state')) === 'live', 120_000);
      await waitFor("dave's workflow", async () => (await row('dave', 'archive').count()) === 1, 30_000);
      await page.screenshot({ path: join(SHOTS, 'hub-monitor-started.png'), fullPage: true });
    }, SLOW);

    it('a server that stops leaves the table and shows as stopped, without a Start button for those who may not', async () => {
      await hub.context.servers.stop('bob');
      await waitFor("bob's tile stopped", async () => (await tile('bob').getAttribute('data-state')) === 'stopped', 60_000);
      expect(await row('bob', 'ingest').count()).toBe(0);
      expect(await tile('bob').locator('button.start').isDisabled()).toBe(true);
      expect(await tile('bob').locator('[data-why]').getAttribute('data-why')).toBe("You may not start bob's server");
      expect(await tile('alice').getAttribute('data-state')).toBe('live');
      expect(errors).toEqual([]);
    }, SLOW);
  });
});
