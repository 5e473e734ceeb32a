/**
 * A proxied WebSocket outlives the request that authenticated it. Signing out, revoking the API
 * token, removing the account or withdrawing access:servers must cut it, as the workflow server
 * cannot see any of these (the owner here shares READ with everyone, so it would keep the socket).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SESSION_COOKIE } from '../../src/hub/index.js';
import { cookieValue, signIn, startHub, waitFor, type HubFixture } from '../hub/helpers.js';
import { startTestServer, type TestServer } from '../server/helpers.js';
import { openThroughHub, proxyAliceTo } from './through-hub.js';

describe('proxied WebSockets end with the sign-in and access that opened them', () => {
  let f: HubFixture;
  let server: TestServer;
  let admin: ReturnType<HubFixture['agent']>;
  let adminXsrf: string;
  const sockets: WebSocket[] = [];

  beforeAll(async () => {
    f = await startHub({ hub: { load_roles: [{ name: 'watch-alice', scopes: ['access:servers!user=alice'], groups: ['watchers'] }] } });
    // The hub checks the browser's Origin and forwards its bind_url origin, which the server knows.
    server = await startTestServer({ owner: 'alice', site: { '*': { '*': { default: 'READ' } } }, hubOrigin: f.hub.context.origin });
    // alice's server runs in this process; the hub reaches it through a real UserProxy.
    proxyAliceTo(f, server);
    admin = f.agent();
    adminXsrf = (await signIn(admin, 'admin')).xsrf;
  });

  beforeEach(async () => {
    const res = await admin.post('/hub/api/groups').set('X-XSRFToken', adminXsrf).send({ name: 'watchers', users: ['bob', 'carol'] });
    expect(res.status).toBe(201);
    return async () => {
      for (const ws of sockets.splice(0)) ws.terminate();
      await admin.delete('/hub/api/groups/watchers').set('X-XSRFToken', adminXsrf);
    };
  });

  afterAll(async () => {
    f.hub.context.proxy.close();
    await server?.close();
    await f?.close();
  });

  async function tokenOf(user: string): Promise<{ token: string; id: string }> {
    const res = await admin.post(`/hub/api/users/${user}/tokens`).set('X-XSRFToken', adminXsrf).send({});
    expect(res.status).toBe(201);
    return { token: res.body.token, id: res.body.id };
  }

  it('closes a token socket when the token is revoked', async () => {
    const { token, id } = await tokenOf('bob');
    const other = await tokenOf('bob');
    const socket = await openThroughHub(f.url, { Authorization: `token ${token}` });
    const unaffected = await openThroughHub(f.url, { Authorization: `token ${other.token}` });
    sockets.push(socket.ws, unaffected.ws);
    expect((await admin.delete(`/hub/api/users/bob/tokens/${id}`).set('X-XSRFToken', adminXsrf)).status).toBe(204);
    await waitFor('the socket of the revoked token to close', () => socket.closed(), 10_000);
    expect(unaffected.closed()).toBe(false);
  });

  it('closes a cookie socket when its session signs out', async () => {
    const agent = f.agent();
    const signed = await signIn(agent, 'carol');
    const cookie = `${SESSION_COOKIE}=${cookieValue(signed.res.headers['set-cookie'], SESSION_COOKIE)}`;
    const socket = await openThroughHub(f.url, { Cookie: cookie }, f.url);
    sockets.push(socket.ws);
    const out = await agent.post('/hub/logout').type('form').send({ _xsrf: signed.xsrf });
    expect(out.status).toBe(302);
    await waitFor('the socket of the signed-out session to close', () => socket.closed(), 10_000);
  });

  it('closes a socket when its user loses access:servers for the owner', async () => {
    const { token } = await tokenOf('bob');
    const socket = await openThroughHub(f.url, { Authorization: `token ${token}` });
    sockets.push(socket.ws);
    const res = await admin.delete('/hub/api/groups/watchers/users').set('X-XSRFToken', adminXsrf).send({ users: ['bob'] });
    expect(res.status).toBe(200);
    await waitFor('the socket of the user without access:servers to close', () => socket.closed(), 10_000);
  });
});
