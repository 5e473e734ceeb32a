/**
 * The hub caps proxied WebSockets per user and server (WorkflowServer.limits.sockets_per_user)
 * before it opens a connection to the server: here the hub's cap is 2 while the server behind it
 * keeps the default, so the refusal can only be the hub's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signIn, startHub, waitFor, type HubFixture } from '../hub/helpers.js';
import { startTestServer, type TestServer } from '../server/helpers.js';
import { openThroughHub, proxyAliceTo, type OpenSocket } from './through-hub.js';

describe('the hub caps proxied sockets per user', () => {
  let f: HubFixture;
  let server: TestServer;
  const tokens: Record<string, string> = {};
  const sockets: OpenSocket[] = [];

  beforeAll(async () => {
    f = await startHub({
      hub: { load_roles: [{ name: 'reach', scopes: ['access:servers'], users: ['bob', 'carol'] }] },
      server: { limits: { sockets_per_user: 2 } },
    });
    server = await startTestServer({ owner: 'alice', site: { '*': { '*': { default: 'READ' } } }, hubOrigin: f.hub.context.origin });
    proxyAliceTo(f, server);
    const admin = f.agent();
    const { xsrf } = await signIn(admin, 'admin');
    for (const user of ['bob', 'carol']) {
      const res = await admin.post(`/hub/api/users/${user}/tokens`).set('X-XSRFToken', xsrf).send({});
      expect(res.status).toBe(201);
      tokens[user] = res.body.token;
    }
  });

  afterAll(async () => {
    for (const socket of sockets) socket.ws.terminate();
    f.hub.context.proxy.close();
    await server?.close();
    await f?.close();
  });

  const open = async (user: string): Promise<OpenSocket> => {
    const socket = await openThroughHub(f.url, { Authorization: `token ${tokens[user]}` });
    sockets.push(socket);
    return socket;
  };

  it('refuses a third socket of bob to alice with 429; carol still gets one, and bob another once one of his closes', async () => {
    const first = await open('bob');
    await open('bob');
    await expect(open('bob')).rejects.toThrow('upgrade refused with 429');
    await open('carol');
    expect(server.running.subscriptions.size).toBe(3);
    first.ws.close();
    await waitFor("bob's first socket to close", () => first.closed(), 10_000);
    let again: OpenSocket | undefined;
    await waitFor('room for another socket of bob', async () => (again = await open('bob').catch(() => undefined)) !== undefined, 10_000);
    expect(again?.closed()).toBe(false);
  });
});
