/**
 * jupyterhub-idle-culler, configured exactly as its README says (a hub-managed service and a
 * role with list:users, read:users:activity, read:servers and delete:servers given to it through
 * "services"), culls an idle server and spares servers kept active by proxied traffic: one by
 * HTTP requests, one only by WebSocket messages. The culler is test/hub/fixtures/idle-culler.mjs,
 * which makes the real culler's requests (PyPI cannot be reached here). Real hub, real workflow
 * servers (dist/ must be built).
 */
import { resolve } from 'node:path';
import { pino } from 'pino';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseScope } from '../../src/config/index.js';
import { openGraphqlSocket, type GraphqlSocket } from './graphql-socket.js';
import { signIn, startHub, waitFor, type HubFixture } from './helpers.js';

const CULLER = resolve(import.meta.dirname, 'fixtures', 'idle-culler.mjs');
const SLOW = 180_000;
/** The culler's --timeout: long enough for a server to start and be seen, short for a test. */
const TIMEOUT_S = 10;

/**
 * The culler needs JupyterHub's REST API and scopes (issue 11, items 1-2: GET /hub/api/, the
 * state filter, pagination, servers in the user model, service principals). Until those are on
 * this branch its role is refused as unknown scopes, and this suite is skipped.
 */
function hubSpeaksJupyterHubApi(): boolean {
  try {
    parseScope('delete:servers');
    parseScope('read:users:activity');
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!hubSpeaksJupyterHubApi())('jupyterhub-idle-culler as a hub-managed service', () => {
  let f: HubFixture;
  const logs: Record<string, unknown>[] = [];
  const cullerSaid = (text: string) => logs.some((l) => l.service === 'jupyterhub-idle-culler-service' && String(l.msg).includes(text));
  let admin: ReturnType<HubFixture['agent']>;
  let xsrf: string;

  beforeAll(async () => {
    const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
    f = await startHub({
      logger,
      hub: {
        // The README's role and service, in the site file's JSON.
        load_roles: [
          {
            name: 'jupyterhub-idle-culler-role',
            scopes: ['list:users', 'read:users:activity', 'read:servers', 'delete:servers'],
            services: ['jupyterhub-idle-culler-service'],
          },
        ],
        services: [
          {
            name: 'jupyterhub-idle-culler-service',
            // --api-page-size=1 makes it walk the pagination one user a page.
            command: [process.execPath, CULLER, `--timeout=${TIMEOUT_S}`, '--cull-every=1', '--api-page-size=1'],
          },
        ],
        spawner: { start_timeout: 90, poll_interval: 1 },
      },
    });
    admin = f.agent();
    xsrf = (await signIn(admin, 'admin')).xsrf;
  }, SLOW);

  afterAll(async () => {
    for (const s of f.hub.context.servers.spawner.list()) await f.hub.context.servers.stop(s.owner);
    await f.close();
  }, SLOW);

  const tokenOf = async (user: string) => (await admin.post(`/hub/api/users/${user}/tokens`).set('X-XSRFToken', xsrf).send({})).body.token as string;
  const status = (user: string) => f.hub.context.servers.status(user);

  it('culls the idle server and spares those kept active by HTTP requests and by WebSocket messages', async () => {
    const aliceToken = await tokenOf('alice');
    const carolToken = await tokenOf('carol');
    for (const user of ['alice', 'bob', 'carol']) {
      expect((await admin.post(`/hub/api/users/${user}/server`).set('X-XSRFToken', xsrf)).status).toBeLessThan(300);
    }
    await waitFor('three running servers', () => ['alice', 'bob', 'carol'].every((u) => status(u) === 'running'), 120_000);
    const allRunningAt = Date.now();

    // alice: proxied HTTP requests; carol: an open socket with a message each way now and then.
    const socket: GraphqlSocket = await openGraphqlSocket(f.url, 'carol', carolToken);
    const keepActive = setInterval(() => {
      void request(f.url).get('/user/alice/api/userprofile').set('Authorization', `token ${aliceToken}`).then(
        () => undefined,
        () => undefined,
      );
      socket.ping().catch(() => undefined);
    }, 1_000);
    try {
      await expect.poll(() => status('bob'), { timeout: 60_000, interval: 200 }).toBe('stopped');
      expect(cullerSaid('Culling server bob (inactive for')).toBe(true);
      // The culler went through more than one page of users.
      expect(cullerSaid('Fetching page 2 ')).toBe(true);
      // Keep going until alice's and carol's servers, too, are older than the timeout and the
      // culler has looked at them since: were their traffic not activity, they would be culled.
      await waitFor('the timeout to pass for the active servers', () => Date.now() - allRunningAt > (TIMEOUT_S + 3) * 1000, 30_000);
      expect(status('alice')).toBe('running');
      expect(status('carol')).toBe('running');
      expect(cullerSaid('Culling server alice')).toBe(false);
      expect(cullerSaid('Culling server carol')).toBe(false);
      expect(cullerSaid('Error processing')).toBe(false);
      expect(cullerSaid('Exception in callback')).toBe(false);

      // An open socket that carries nothing is no activity: once quiet, carol's server goes too.
      clearInterval(keepActive);
      await expect.poll(() => status('carol'), { timeout: 60_000, interval: 200 }).toBe('stopped');
      expect(cullerSaid('Culling server carol (inactive for')).toBe(true);
    } finally {
      clearInterval(keepActive);
      socket.close();
    }
  }, SLOW);
});

describe.skipIf(!hubSpeaksJupyterHubApi())('jupyterhub-idle-culler --cull-users', () => {
  let f: HubFixture;
  const logs: Record<string, unknown>[] = [];
  const cullerSaid = (text: string) => logs.some((l) => l.service === 'culler' && String(l.msg).includes(text));

  afterAll(async () => {
    await f.close();
  }, SLOW);

  it('deletes users inactive for the timeout, with the optional admin:users of its README, and spares active ones', async () => {
    const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
    f = await startHub({
      logger,
      hub: {
        load_roles: [
          { name: 'culler-role', scopes: ['list:users', 'read:users:activity', 'read:servers', 'delete:servers', 'admin:users'], services: ['culler'] },
        ],
        services: [{ name: 'culler', command: [process.execPath, CULLER, `--timeout=${TIMEOUT_S}`, '--cull-every=1', '--cull-users'] }],
      },
    });
    const bobCreated = f.hub.context.activity.get('bob')!.created;
    const aliceCreated = f.hub.context.activity.get('alice')!.created;
    // alice uses the hub (signed in: her own activity); nobody else does anything.
    const alice = f.agent();
    await signIn(alice, 'alice');
    const keepActive = setInterval(() => void alice.get('/hub/api/user').then(() => undefined, () => undefined), 1_000);
    try {
      await expect.poll(() => cullerSaid('Culling user bob (inactive for'), { timeout: 60_000, interval: 200 }).toBe(true);
      // The hub forgot bob (his htpasswd account stays, so he is known afresh, created now).
      await expect.poll(() => f.hub.context.activity.get('bob')?.created, { timeout: 10_000, interval: 200 }).toBeGreaterThan(bobCreated);
      expect(cullerSaid('Culling user alice')).toBe(false);
      expect(f.hub.context.activity.get('alice')?.created).toBe(aliceCreated);
      expect(cullerSaid('Error processing')).toBe(false);
      expect(cullerSaid('Exception in callback')).toBe(false);
    } finally {
      clearInterval(keepActive);
    }
  }, SLOW);
});
