import { Agent, createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { newServerSecret, type Identity } from '../../src/identity/proof.js';
import { UserProxy, type UserProxyOptions } from '../../src/proxy/index.js';
import type { Spawner } from '../../src/spawner/index.js';
import { SpawnerHarness } from '../spawner/harness.js';
import { waitFor } from '../wait.js';

const SESSION_COOKIE = 'flotilla-session';
const LOGIN_FORM_COOKIE = 'flotilla-login-xsrf';
/** The hub renders this answer as its own page or JSON; here a marker shows the hook is used,
 * with the client's own headers (not the forwarded copy). */
const unavailable = (req: IncomingMessage, res: ServerResponse, owner: string) =>
  res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 503, hook: owner, accept: req.headers.accept ?? null }));
const identity: Identity = { user: 'bob', groups: ['ops'], owner: 'alice', ownerGroups: ['staff'], via: 'cookie', xsrf: 'xsrf-1' };

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: () => any;
}

function call(port: number, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A minimal hub: every request goes to one owner's server with a fixed identity. */
function hubLike(proxy: UserProxy, owner = 'alice', who: Identity = identity): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => proxy.web(req, res, owner, who));
  server.on('upgrade', (req, socket, head) => proxy.ws(req, socket, head, owner, who));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port })));
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A hub-like front whose proxy sends every request to whatever listens (or not) on loopback `port`. */
async function frontOf(port: number, options: Pick<UserProxyOptions, 'timeoutMs' | 'idleConnectionMs'> = {}): Promise<{ port: number; close: () => Promise<void> }> {
  const proxy = new UserProxy({
    spawner: { info: () => ({ url: `http://127.0.0.1:${port}`, secret: newServerSecret() }), touch() {}, wsOpened() {}, wsClosed() {} },
    sessionCookieName: SESSION_COOKIE,
    unavailable,
    ...options,
  });
  const front = await hubLike(proxy);
  return {
    port: front.port,
    async close() {
      await closeServer(front.server);
      proxy.close();
    },
  };
}

/** A stand-in workflow server on a free loopback port. */
async function backendOf(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as AddressInfo).port };
}

/** Opens a WebSocket and collects its messages; resolves once open and the first one came. */
function openSocket(url: string, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; first: any; next: () => Promise<string> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const queue: string[] = [];
    const waiters: ((m: string) => void)[] = [];
    ws.on('message', (data) => {
      const m = data.toString();
      const w = waiters.shift();
      if (w) w(m);
      else queue.push(m);
    });
    const next = () => new Promise<string>((r) => (queue.length ? r(queue.shift()!) : waiters.push(r)));
    ws.once('error', reject);
    ws.once('open', async () => resolve({ ws, first: JSON.parse(await next()), next }));
  });
}

function upgradeRefusal(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('open', () => reject(new Error('the upgrade was accepted')));
    ws.on('error', () => undefined);
  });
}

/** alice's server (the fixture, started by a real Spawner, then stopped unless `running`) behind
 * a UserProxy in a hub-like server. */
function withProxiedServer(opts: { running: boolean }) {
  let h: SpawnerHarness | undefined;
  let proxy: UserProxy | undefined;
  let hub: { server: Server; port: number } | undefined;
  return {
    async start() {
      h = new SpawnerHarness();
      const spawner = h.spawner();
      await spawner.start('alice');
      if (!opts.running) await spawner.stop('alice');
      proxy = new UserProxy({ spawner, sessionCookieName: SESSION_COOKIE, otherHubCookies: [LOGIN_FORM_COOKIE], unavailable });
      hub = await hubLike(proxy);
      return { spawner, proxy, hub };
    },
    async stop() {
      if (hub) await closeServer(hub.server);
      proxy?.close();
      await h?.cleanup();
    },
  };
}

describe('UserProxy against a real workflow-server stand-in', () => {
  let spawner: Spawner;
  let proxy: UserProxy;
  let hub: { server: Server; port: number };
  const setUp = withProxiedServer({ running: true });
  beforeAll(async () => ({ spawner, proxy, hub } = await setUp.start()));
  afterAll(() => setUp.stop());

  it('forwards the path unchanged with a proof for exactly that target, and strips identity claims', async () => {
    const path = '/user/alice/api/thing?q=%2F..%2F&b=1';
    const reply = await call(hub.port, path, {
      headers: {
        cookie: `theme=dark; ${SESSION_COOKIE}=s%3Asecret-session; ${LOGIN_FORM_COOKIE}=t.1.m; lang=en`,
        authorization: 'token hub-api-token',
        'x-flotilla-proof': 'forged.proof',
        'x-flotilla-user': 'admin',
        'x-forwarded-user': 'admin',
        'x-forwarded-for': '203.0.113.9',
        'x-remote-user': 'admin',
        'remote-user': 'admin',
        'x-auth-request-user': 'admin',
        'proxy-authorization': 'Basic eDp5',
        'x-custom': 'kept',
        host: 'hub.example:8000',
      },
    });
    expect(reply.status).toBe(200);
    const seen = reply.json();
    expect(seen.url).toBe(path);
    expect(seen.identity).toEqual(identity);
    expect(seen.headers.cookie).toBe('theme=dark; lang=en');
    for (const name of ['authorization', 'proxy-authorization', 'x-flotilla-user', 'x-forwarded-user', 'x-remote-user', 'remote-user', 'x-auth-request-user']) {
      expect(seen.headers).not.toHaveProperty(name);
    }
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-forwarded-host']).toBe('hub.example:8000');
    expect(seen.headers.host).toBe('hub.example:8000');
    expect(seen.headers['x-custom']).toBe('kept');
  });

  it('drops the cookie header when only the hub session was in it, and forwards bodies and methods', async () => {
    const reply = await call(hub.port, '/user/alice/graphql', {
      method: 'POST',
      headers: { cookie: `${SESSION_COOKIE}=abc`, 'content-type': 'application/json' },
      body: '{"query":"{ me { name } }"}',
    });
    expect(reply.status).toBe(200);
    const seen = reply.json();
    expect(seen.method).toBe('POST');
    expect(seen.body).toBe('{"query":"{ me { name } }"}');
    expect(seen.headers).not.toHaveProperty('cookie');
    expect(seen.identity.user).toBe('bob');
  });

  it("gives a request that came without a Host header (HTTP/1.0) the server's address as its host", async () => {
    const socket = connect(hub.port, '127.0.0.1');
    socket.write('GET /user/alice/api/thing HTTP/1.0\r\n\r\n');
    let raw = '';
    for await (const chunk of socket) raw += chunk;
    expect(raw).toMatch(/^HTTP\/1\.1 200 /);
    const seen = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4));
    expect(seen.headers.host).toBe(new URL(spawner.info('alice')!.url).host);
    expect(seen.headers).not.toHaveProperty('x-forwarded-host');
  });

  it('reuses kept-alive connections to the server across client connections', async () => {
    const ports = new Set<number>();
    for (let i = 0; i < 5; i++) ports.add((await call(hub.port, `/user/alice/ping/${i}`)).json().remotePort);
    expect(ports.size).toBe(1);
  });

  it('proxies WebSockets with a proof for the upgrade target, and reports them open and closed', async () => {
    const opened = vi.spyOn(spawner, 'wsOpened');
    const closed = vi.spyOn(spawner, 'wsClosed');
    const { ws, first, next } = await openSocket(`ws://127.0.0.1:${hub.port}/user/alice/subscriptions?w=one`, {
      authorization: 'Bearer hub-api-token',
      'x-flotilla-user': 'admin',
      cookie: `${SESSION_COOKIE}=abc; keep=1`,
    });
    expect(first.url).toBe('/user/alice/subscriptions?w=one');
    expect(first.identity).toEqual(identity);
    expect(first.headers).not.toHaveProperty('authorization');
    expect(first.headers).not.toHaveProperty('x-flotilla-user');
    expect(first.headers.cookie).toBe('keep=1');
    ws.send('hello through the hub');
    expect(await next()).toBe('hello through the hub');
    expect(opened).toHaveBeenCalledWith('alice');
    expect(closed).not.toHaveBeenCalled();
    ws.close();
    await vi.waitFor(() => expect(closed).toHaveBeenCalledWith('alice'), { timeout: 10_000, interval: 50 });
    opened.mockRestore();
    closed.mockRestore();
  });

  it('refuses with an identity for another owner instead of signing it', async () => {
    const wrong = await hubLike(proxy, 'alice', { ...identity, owner: 'mallory' });
    try {
      const reply = await call(wrong.port, '/user/alice/');
      expect(reply.status).toBe(500);
      expect(reply.text).not.toContain('mallory');
    } finally {
      await closeServer(wrong.server);
    }
  });
});

describe("UserProxy passes the server's answer on as the server framed it for the hub", () => {
  it('keeps status, message and every cookie, streams the body, and drops the hop-by-hop headers', async () => {
    const backend = await backendOf((_req, res) => {
      res.writeHead(201, 'Made Here', { 'set-cookie': ['a=1; Path=/user/alice/', 'b=2; Path=/user/alice/'], connection: 'close', 'x-kept': 'yes' });
      res.write('first,');
      setTimeout(() => res.end('second'), 50);
    });
    const front = await frontOf(backend.port);
    try {
      const keepAlive = new Agent({ keepAlive: true });
      const reply = await new Promise<Reply & { message: string | undefined }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: front.port, path: '/user/alice/streamed', agent: keepAlive }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, message: res.statusMessage, headers: res.headers, text, json: () => JSON.parse(text) }));
        });
        req.on('error', reject);
        req.end();
      });
      keepAlive.destroy();
      expect(reply.status).toBe(201);
      expect(reply.message).toBe('Made Here');
      expect(reply.text).toBe('first,second');
      expect(reply.headers['set-cookie']).toEqual(['a=1; Path=/user/alice/', 'b=2; Path=/user/alice/']);
      expect(reply.headers['x-kept']).toBe('yes');
      // The server closing its connection to the hub says nothing about the client's.
      expect(reply.headers.connection).toBe('keep-alive');
    } finally {
      await front.close();
      await closeServer(backend.server);
    }
  });
});

describe('UserProxy when the server is down', () => {
  let hub: { server: Server; port: number };
  const setUp = withProxiedServer({ running: false });
  beforeAll(async () => ({ hub } = await setUp.start()));
  afterAll(() => setUp.stop());

  it("hands the answer to the hub's hook, with the client's headers", async () => {
    for (const accept of ['text/html,application/xhtml+xml,*/*;q=0.8', 'application/json']) {
      const reply = await call(hub.port, '/user/alice/api/userprofile', { headers: { accept } });
      expect(reply.status).toBe(503);
      expect(reply.json()).toEqual({ status: 503, hook: 'alice', accept });
    }
  });

  it('refuses WebSocket upgrades with a 503', async () => {
    const refusal = await upgradeRefusal(`ws://127.0.0.1:${hub.port}/user/alice/subscriptions`);
    expect(refusal.status).toBe(503);
    expect(JSON.parse(refusal.body).status).toBe(503);
  });

  it('answers 503 when the server accepts a request but never answers it', async () => {
    const silent = await backendOf(() => {
      /* never answers */
    });
    const front = await frontOf(silent.port, { timeoutMs: 300 });
    try {
      const reply = await call(front.port, '/user/alice/api/userprofile', { headers: { accept: 'application/json' } });
      expect(reply.status).toBe(503);
      expect(reply.json()).toEqual({ status: 503, hook: 'alice', accept: 'application/json' });
    } finally {
      await front.close();
      await closeServer(silent.server);
    }
  });

  it('answers 503 when the recorded server refuses connections', async () => {
    // A port that was free a moment ago: nothing listens there, so connecting is refused.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const deadPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const front = await frontOf(deadPort);
    try {
      const reply = await call(front.port, '/user/alice/', { headers: { accept: 'application/json' } });
      expect(reply.status).toBe(503);
      expect(reply.json().status).toBe(503);
      const refusal = await upgradeRefusal(`ws://127.0.0.1:${front.port}/user/alice/subscriptions`);
      expect(refusal.status).toBe(503);
    } finally {
      await front.close();
    }
  });
});

describe('UserProxy when the server closes a pooled connection just as a request goes out on it', () => {
  // The server reads the second request of each connection and drops the connection unanswered:
  // what a client on a kept-alive connection sees when the server's idle timeout closes it just
  // as the request is sent.
  async function start() {
    const seen: { method: string; proof: string; reused: boolean }[] = [];
    const backend = await backendOf((req, res) => {
      const socket = req.socket as typeof req.socket & { served?: number };
      socket.served = (socket.served ?? 0) + 1;
      seen.push({ method: req.method ?? '', proof: String(req.headers['x-flotilla-proof']), reused: socket.served > 1 });
      if (socket.served > 1) return void socket.destroy();
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain' }).end(`${req.method} answered`));
    });
    const front = await frontOf(backend.port);
    return {
      seen,
      port: front.port,
      async stop() {
        await front.close();
        await closeServer(backend.server);
      },
    };
  }

  it('sends a GET again on a connection of its own, with a fresh proof, and the client never knows', async () => {
    const site = await start();
    try {
      expect((await call(site.port, '/user/alice/static/a.js')).text).toBe('GET answered');
      const reply = await call(site.port, '/user/alice/static/b.js');
      expect(reply.status).toBe(200);
      expect(reply.text).toBe('GET answered');
      expect(site.seen.map((s) => s.reused)).toEqual([false, true, false]);
      expect(new Set(site.seen.map((s) => s.proof)).size).toBe(3);
    } finally {
      await site.stop();
    }
  });

  it('does not send again the request of a client that has gone', async () => {
    const seen: string[] = [];
    const closed: string[] = [];
    const backend = await backendOf((req, res) => {
      seen.push(req.url ?? '');
      req.socket.once('close', () => closed.push(req.url ?? ''));
      if (!req.url?.endsWith('/slow')) res.end('answered');
    });
    const front = await frontOf(backend.port);
    try {
      await call(front.port, '/user/alice/a');
      // On the connection kept from the first request: the hub's copy of it is then destroyed
      // on a reused connection, as a stale one fails.
      const gone = request({ host: '127.0.0.1', port: front.port, path: '/user/alice/slow', agent: false });
      gone.on('error', () => undefined);
      gone.end();
      await waitFor('the server to have the request', () => seen.includes('/user/alice/slow') || undefined);
      gone.destroy();
      await waitFor('the hub to drop its copy', () => closed.includes('/user/alice/slow') || undefined);
      expect((await call(front.port, '/user/alice/c')).text).toBe('answered');
      expect(seen).toEqual(['/user/alice/a', '/user/alice/slow', '/user/alice/c']);
    } finally {
      await front.close();
      await closeServer(backend.server);
    }
  });

  it('does not send a POST twice: the client is told the server did not answer', async () => {
    const site = await start();
    try {
      await call(site.port, '/user/alice/static/a.js');
      const reply = await call(site.port, '/user/alice/graphql', { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: '{}' });
      expect(reply.status).toBe(503);
      expect(site.seen.map((s) => s.method)).toEqual(['GET', 'POST']);
    } finally {
      await site.stop();
    }
  });
});

describe('UserProxy and the connections it keeps alive', () => {
  it('closes an idle one itself, long before the server would, and opens a new one for the next request', async () => {
    const connections: Socket[] = [];
    const backend = await backendOf((_req, res) => res.end('answered'));
    backend.server.keepAliveTimeout = 60_000;
    backend.server.on('connection', (socket) => connections.push(socket));
    const front = await frontOf(backend.port, { idleConnectionMs: 200 });
    try {
      expect((await call(front.port, '/user/alice/a')).text).toBe('answered');
      expect(connections).toHaveLength(1);
      await waitFor('the hub to close its idle connection', () => connections[0]!.closed || undefined);
      expect((await call(front.port, '/user/alice/b')).text).toBe('answered');
      expect(connections).toHaveLength(2);
    } finally {
      await front.close();
      await closeServer(backend.server);
    }
  });
});
