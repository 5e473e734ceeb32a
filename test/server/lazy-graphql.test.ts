/**
 * The sockets and pages that arrive while GraphQL loads (server/lazy-graphql.ts): held sockets
 * survive clients that go away, are capped, and reach GraphQL once it is ready (queries over HTTP
 * need not wait for the WebSocket side); a load that fails goes to the fatal path once.
 */
import { createServer, request, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { LazyGraphql } from '../../src/server/lazy-graphql.js';
import { silentLogger } from '../../src/util/logger.js';
import { waitFor } from '../wait.js';

/** What the test loads in GraphQL's place: a WebSocket server that greets each socket. */
interface FakePart {
  wss: WebSocketServer;
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** An upgrade request written by hand, so that the test can reset the connection mid-wait. */
function rawUpgrade(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(
        'GET /subscriptions HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
      resolve(socket);
    });
    socket.on('error', reject);
  });
}

function firstReply(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    let seen = '';
    socket.on('data', (chunk: Buffer) => {
      seen += chunk.toString('latin1');
      if (seen.includes('\r\n\r\n')) resolve(seen.split('\r\n')[0]!);
    });
  });
}

describe('GraphQL loaded on first use', () => {
  let server: Server | undefined;
  const clients: (WebSocket | Socket)[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) {
      if (c instanceof WebSocket) c.terminate();
      else c.destroy();
    }
    server?.closeAllConnections();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
  });

  async function start(options: { maxHeld?: number } = {}) {
    const load = deferred<FakePart>();
    const fatal: Error[] = [];
    let loads = 0;
    const srv = createServer((_req, res) => res.end('page'));
    server = srv;
    const lazy = new LazyGraphql<string, FakePart>({
      server: srv,
      logger: silentLogger(),
      loadHttp: async () => (loads++, 'graphql over http'),
      load: () =>
        load.promise.then((part) => {
          srv.on('upgrade', (req, socket, head) => part.wss.handleUpgrade(req, socket, head, (ws) => ws.send('hello')));
          return part;
        }),
      onFatal: (err) => fatal.push(err),
      ...options,
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    return { lazy, load, fatal, loads: () => loads, port: (srv.address() as AddressInfo).port };
  }

  function openWs(port: number): { ws: WebSocket; greeting: Promise<string> } {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/subscriptions`);
    clients.push(ws);
    // A client closed before its handshake ends reports an error; the tests look at what the server did.
    ws.on('error', () => undefined);
    const greeting = new Promise<string>((resolve) => ws.once('message', (data: Buffer) => resolve(data.toString())));
    return { ws, greeting };
  }

  it('drops a waiting socket whose client resets the connection, and hands the others over once loaded', async () => {
    const { lazy, load, port } = await start();
    const staying = openWs(port);
    const leaving = await rawUpgrade(port);
    const closedBeforeReset = openWs(port);
    await waitFor('three sockets held', () => lazy.heldCount === 3 || undefined);

    // A reset (RST) makes the server's side fail with ECONNRESET: without an error listener, an uncaught error.
    leaving.resetAndDestroy();
    closedBeforeReset.ws.terminate();
    await waitFor('the two that left dropped', () => lazy.heldCount === 1 || undefined);

    load.resolve({ wss: new WebSocketServer({ noServer: true }) });
    expect(await staying.greeting).toBe('hello');
    expect(lazy.loaded).toBeDefined();
    expect(lazy.heldCount).toBe(0);
  });

  it('refuses sockets beyond the cap with 503 while loading', async () => {
    const { lazy, load, port } = await start({ maxHeld: 2 });
    const first = openWs(port);
    const second = openWs(port);
    await waitFor('two sockets held', () => lazy.heldCount === 2 || undefined);
    const third = await rawUpgrade(port);
    clients.push(third);
    expect(await firstReply(third)).toBe('HTTP/1.1 503 Service Unavailable');
    expect(lazy.heldCount).toBe(2);

    load.resolve({ wss: new WebSocketServer({ noServer: true }) });
    expect(await first.greeting).toBe('hello');
    expect(await second.greeting).toBe('hello');
  });

  it('goes to the fatal path once when loading fails, closing the sockets that waited', async () => {
    const { lazy, load, fatal, port } = await start();
    const waiting = await rawUpgrade(port);
    clients.push(waiting);
    const closed = new Promise<void>((r) => waiting.once('close', () => r()));
    await waitFor('the socket held', () => lazy.heldCount === 1 || undefined);
    const asked = lazy.get();
    load.reject(new Error('schema.js: no such file'));
    await expect(asked).rejects.toThrow('schema.js: no such file');
    await closed;
    await expect(lazy.get()).rejects.toThrow('schema.js: no such file');
    expect(fatal.map((e) => e.message)).toEqual(['schema.js: no such file']);
  });

  it('hands out GraphQL over HTTP while the WebSocket side is still loading', async () => {
    const { lazy, load, port } = await start();
    const waiting = openWs(port);
    await waitFor('the socket held', () => lazy.heldCount === 1 || undefined);
    expect(await lazy.http()).toBe('graphql over http');
    expect(lazy.loaded).toBeUndefined();
    expect(lazy.heldCount).toBe(1);
    load.resolve({ wss: new WebSocketServer({ noServer: true }) });
    expect(await waiting.greeting).toBe('hello');
  });

  it('starts loading after a page is sent only while GraphQL has not begun loading', async () => {
    const { lazy, load, loads, port } = await start();
    const pages: number[] = [];
    server!.removeAllListeners('request');
    server!.on('request', (_req, res) => {
      const before = res.listenerCount('finish');
      lazy.loadAfter(res);
      pages.push(res.listenerCount('finish') - before);
      res.end('page');
    });
    const get = () =>
      new Promise<void>((resolve, reject) => request({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => res.resume().on('end', resolve)).on('error', reject).end());
    await get();
    await waitFor('loading begun once the page was sent', () => loads() === 1 || undefined);
    load.resolve({ wss: new WebSocketServer({ noServer: true }) });
    await lazy.get();
    await get();
    expect(pages).toEqual([1, 0]);
    expect(loads()).toBe(1);
  });
});
