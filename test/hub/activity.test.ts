/**
 * Activity follows proxied traffic: HTTP requests and WebSocket messages to an owner's server
 * advance both the server's activity and the owner's `last_activity`, whoever sends them; a
 * socket that carries nothing does not. Real hub, real workflow server (dist/ must be built).
 */
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActivityMeter } from '../../src/hub/activity/activity-meter.js';
import { openGraphqlSocket } from './graphql-socket.js';
import { signIn, startHub, waitFor, type HubFixture } from './helpers.js';

const SLOW = 120_000;

describe('ActivityMeter', () => {
  it('passes on one activity per owner per grain, to the server and to the owner, with the time', () => {
    let clock = 10_000;
    const server: string[] = [];
    const user: [string, number][] = [];
    const meter = new ActivityMeter({ server: (o) => server.push(o), user: (o, at) => user.push([o, at]) }, () => clock, 1_000);
    for (let i = 0; i < 100; i += 1) meter.record('alice');
    meter.record('bob');
    clock = 10_999;
    meter.record('alice');
    clock = 11_000;
    meter.record('alice');
    expect(server).toEqual(['alice', 'bob', 'alice']);
    expect(user).toEqual([
      ['alice', 10_000],
      ['bob', 10_000],
      ['alice', 11_000],
    ]);
  });
});

describe('activity of proxied traffic', () => {
  let f: HubFixture;
  let aliceToken: string;
  let bobToken: string;

  beforeAll(async () => {
    f = await startHub({
      hub: {
        load_roles: [{ name: 'look', scopes: ['access:servers!user=alice'], users: ['bob'] }],
        spawner: { start_timeout: 90, poll_interval: 1 },
      },
      server: { site_authorization: { '*': { bob: { default: 'READ' } } } },
    });
    const admin = f.agent();
    const { xsrf } = await signIn(admin, 'admin');
    aliceToken = (await admin.post('/hub/api/users/alice/tokens').set('X-XSRFToken', xsrf).send({})).body.token;
    bobToken = (await admin.post('/hub/api/users/bob/tokens').set('X-XSRFToken', xsrf).send({})).body.token;
    expect((await admin.post('/hub/api/users/alice/server').set('X-XSRFToken', xsrf)).status).toBeLessThan(300);
    await waitFor("alice's server", () => f.hub.context.servers.status('alice') === 'running', 90_000);
  }, SLOW);

  afterAll(async () => {
    await f.hub.context.servers.stop('alice');
    await f.close();
  }, SLOW);

  const serverActivity = () => f.hub.context.servers.lastActivity('alice') ?? 0;
  const userActivity = () => f.hub.context.activity.get('alice')?.lastActivity ?? 0;
  /** Waits out the meter's grain, so that the next traffic is not folded into the last. */
  const afterGrain = async () => {
    const since = Date.now();
    await waitFor('a grain', () => Date.now() - since > 1_100, 5_000);
  };

  it('a proxied HTTP request, by anyone who may reach the server, is the owner\'s activity', async () => {
    await afterGrain();
    const before = { server: serverActivity(), user: userActivity() };
    const res = await request(f.url).get('/user/alice/api/userprofile').set('Authorization', `token ${bobToken}`);
    expect(res.status).toBe(200);
    expect(serverActivity()).toBeGreaterThan(before.server);
    expect(userActivity()).toBeGreaterThan(before.user);
    // And the REST API reports it.
    const model = (await request(f.url).get('/hub/api/users/alice').set('Authorization', `token ${aliceToken}`)).body;
    expect(Date.parse(model.last_activity)).toBeGreaterThanOrEqual(userActivity());
  });

  it('messages on an open WebSocket are activity; a quiet socket is not', async () => {
    const socket = await openGraphqlSocket(f.url, 'alice', bobToken);
    try {
      // The upgrade and the handshake are activity; wait until the meter has taken them in.
      await afterGrain();
      await afterGrain();
      const quiet = { server: serverActivity(), user: userActivity() };
      await afterGrain();
      expect({ server: serverActivity(), user: userActivity() }).toEqual(quiet);
      await socket.ping();
      await expect.poll(serverActivity, { timeout: 5_000, interval: 100 }).toBeGreaterThan(quiet.server);
      await expect.poll(userActivity, { timeout: 5_000, interval: 100 }).toBeGreaterThan(quiet.user);
    } finally {
      socket.close();
    }
  });

  it('signed-in use of the hub is the user\'s own activity', async () => {
    const before = f.hub.context.activity.get('carol')?.lastActivity ?? 0;
    const carol = f.agent();
    await signIn(carol, 'carol');
    expect(f.hub.context.activity.get('carol')?.lastActivity ?? 0).toBeGreaterThan(before);
  });
});
