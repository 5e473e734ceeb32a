/**
 * GraphQL is loaded when first needed (server/app.ts): requests and sockets that arrive before it
 * is ready are served once it is, with the same checks, and a server closed before then closes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { GraphqlSocket, openSocket, startTestServer, waitFor, type TestServer } from './helpers.js';

const FLOW = `
tasks:
  one:
    script: echo one
`;

describe('workflow server start-up', () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('serves GraphQL requests and sockets sent together the moment it listens, refusing those it must', async () => {
    server = await startTestServer({ owner: 'alice', site: { '*': { '*': { limit: 'ALL' } } }, ua: { bob: ['READ'] }, flows: { demo: FLOW } });
    const [query, bobSocket, mallory] = await Promise.all([
      server.graphql({ user: 'bob' }, '{ workflows { name } }'),
      openSocket(server, { user: 'bob' }),
      openSocket(server, { user: 'mallory' }),
    ]);
    expect(query.status).toBe(200);
    expect(query.body.data.workflows).toEqual([{ name: 'demo' }]);
    expect(mallory).toEqual({ ok: false, status: 403 });
    if (!bobSocket.ok) throw new Error(`bob's socket was refused with ${bobSocket.status}`);
    const socket = new GraphqlSocket(bobSocket.ws);
    await socket.init();
    socket.subscribe('1', '{ me { username } }');
    const next = await waitFor('me over the socket', () => socket.of('1').find((m) => m.type === 'next'));
    expect(next.payload.data.me).toEqual({ username: 'bob' });
    expect(server.running.subscriptions.size).toBe(1);
    bobSocket.ws.terminate();
  });

  it('closes when closed before GraphQL is ready', async () => {
    const early = await startTestServer({ owner: 'alice', flows: { demo: FLOW } });
    await early.close();
    await expect(fetch(early.url)).rejects.toThrow();
  });
});
