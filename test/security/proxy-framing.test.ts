/**
 * The hub keeps connections to a workflow server alive and shares them between users. A client
 * that names `Content-Length` (or `Transfer-Encoding`) in its `Connection` header must not make the
 * proxy drop the body's framing: the body would then reach the server as a second request on the
 * shared connection (request smuggling / response queue poisoning between users).
 */
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Identity } from '../../src/identity/proof.js';
import { UserProxy } from '../../src/proxy/index.js';

const SENTINEL = '/user/alice/sentinel';

const who: Identity = { user: 'mallory', groups: [], owner: 'alice', ownerGroups: [], via: 'token' };

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Sends raw bytes to the front, half-closes, and resolves with everything it answered. */
function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
    socket.setTimeout(20_000, () => socket.destroy());
    socket.end(bytes);
  });
}

describe('UserProxy request framing', () => {
  const seen: { method: string; url: string; body: string }[] = [];
  /** Backend connections that carried a request of the current exchange, until they close or carry the sentinel. */
  const unsettled = new Set<Socket>();
  let backend: Server;
  let front: Server;
  let proxy: UserProxy;
  let frontPort: number;

  beforeAll(async () => {
    backend = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        if (req.url === SENTINEL) {
          unsettled.delete(req.socket);
        } else {
          seen.push({ method: req.method ?? '', url: req.url ?? '', body });
          if (!unsettled.has(req.socket)) req.socket.once('close', () => unsettled.delete(req.socket));
          unsettled.add(req.socket);
        }
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ url: req.url }));
      });
    });
    const backendPort = await listen(backend);
    proxy = new UserProxy({
      spawner: { info: () => ({ url: `http://127.0.0.1:${backendPort}`, secret: 's'.repeat(43) }), touch() {}, wsOpened() {}, wsClosed() {} },
      sessionCookieName: 'flotilla-session',
      unavailable: (_req, res) => res.writeHead(503).end(),
    });
    front = createServer((req, res) => proxy.web(req, res, 'alice', who));
    frontPort = await listen(front);
  });

  afterAll(async () => {
    proxy.close();
    await close(front);
    await close(backend);
  });

  const smuggled = 'GET /user/alice/smuggled HTTP/1.1\r\nHost: x\r\n\r\n';
  const chunked = `${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`;

  /** Sends one request with `smuggled` as its body; the backend must never see it as a request. */
  async function send(method: string, headers: string[], body: string): Promise<string> {
    seen.length = 0;
    unsettled.clear();
    const answer = await rawExchange(frontPort, `${method} /user/alice/x HTTP/1.1\r\nHost: hub\r\n${headers.join('\r\n')}\r\n\r\n${body}`);
    // A smuggled request would sit on the backend connection right behind the first one. The
    // backend reads a connection in order, so once that connection has closed or carried a later
    // request (the sentinel, sent through the proxy's shared connections), nothing is left unread.
    await rawExchange(frontPort, `GET ${SENTINEL} HTTP/1.1\r\nHost: hub\r\n\r\n`);
    await vi.waitFor(() => expect(unsettled.size).toBe(0), { timeout: 10_000 });
    expect(seen.map((s) => s.url)).not.toContain('/user/alice/smuggled');
    return answer;
  }

  for (const method of ['GET', 'DELETE', 'POST']) {
    it(`${method} with "Connection: content-length" keeps its body a body`, async () => {
      await send(method, ['Connection: content-length', `Content-Length: ${smuggled.length}`], smuggled);
      expect(seen).toEqual([{ method, url: '/user/alice/x', body: smuggled }]);
    });
  }

  for (const method of ['GET', 'POST']) {
    it(`${method} with "Connection: transfer-encoding" keeps its body a body`, async () => {
      await send(method, ['Connection: transfer-encoding', 'Transfer-Encoding: chunked'], chunked);
      expect(seen).toEqual([{ method, url: '/user/alice/x', body: smuggled }]);
    });
  }

  for (const method of ['DELETE', 'OPTIONS']) {
    for (const connection of [[], ['Connection: transfer-encoding']]) {
      it(`${method} with a chunked body ${connection.length ? 'and "Connection: transfer-encoding" ' : ''}is refused, not smuggled`, async () => {
        const answer = await send(method, [...connection, 'Transfer-Encoding: chunked'], chunked);
        expect(answer).toMatch(/^HTTP\/1\.1 400 /);
        expect(seen).toEqual([]);
      });
    }
  }
});
