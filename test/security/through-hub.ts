/**
 * A real hub in front of alice's workflow server (run in this process), and graphql-ws sockets
 * opened through the hub, for tests of what the hub does to proxied WebSockets.
 */
import WebSocket from 'ws';
import { SESSION_COOKIE } from '../../src/hub/index.js';
import { UserProxy } from '../../src/proxy/index.js';
import type { HubFixture } from '../hub/helpers.js';
import type { TestServer } from '../server/helpers.js';

export interface OpenSocket {
  ws: WebSocket;
  closed: () => boolean;
}

/** Makes the hub proxy /user/alice/ to `server`, as if the spawner had started it. */
export function proxyAliceTo(f: HubFixture, server: TestServer): void {
  const ctx = f.hub.context;
  ctx.proxy = new UserProxy({
    spawner: { info: (o) => (o === 'alice' ? { url: server.url, secret: server.secret } : undefined), touch() {}, wsOpened() {}, wsClosed() {} },
    sessionCookieName: SESSION_COOKIE,
    unavailable: (_req, res) => res.writeHead(503).end(),
  });
  const status = ctx.servers.status.bind(ctx.servers);
  ctx.servers.status = (owner) => (owner === 'alice' ? 'running' : status(owner));
}

/** Opens /user/alice/subscriptions through the hub and waits for graphql-ws's connection_ack. */
export function openThroughHub(hubUrl: string, headers: Record<string, string>, origin?: string): Promise<OpenSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${hubUrl.replace(/^http/, 'ws')}/user/alice/subscriptions`, 'graphql-transport-ws', {
      headers,
      ...(origin ? { origin } : {}),
    });
    let closed = false;
    ws.on('close', () => (closed = true));
    ws.on('error', () => undefined);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused with ${res.statusCode}`)));
    ws.once('open', () => ws.send(JSON.stringify({ type: 'connection_init' })));
    ws.once('message', (data) => {
      const message = JSON.parse(data.toString()) as { type: string };
      if (message.type === 'connection_ack') resolve({ ws, closed: () => closed });
      else reject(new Error(`unexpected first message ${message.type}`));
    });
  });
}
