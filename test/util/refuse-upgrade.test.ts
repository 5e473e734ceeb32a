/**
 * A refused WebSocket upgrade: the client gets an HTTP error with a JSON body saying why, and a client that resets the
 * connection afterwards is no uncaught error for the server (Node takes its own error listener off
 * a socket it hands to an 'upgrade' handler).
 */
import { createServer } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { refuseUpgrade } from '../../src/util/refuse-upgrade.js';
import { waitFor } from '../wait.js';

const server = createServer();
afterEach(() => {
  server.closeAllConnections();
  server.close();
});

it('answers with the status, a JSON body and the headers asked for, and survives a client that resets the connection', async () => {
  const refused: Socket[] = [];
  server.on('upgrade', (_req, socket) => {
    refused.push(socket as Socket);
    refuseUpgrade(socket, 429, 'at most 2 open sockets per user', { 'Retry-After': 5 });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const client = connect(port, '127.0.0.1');
  client.write('GET /subscriptions HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  let reply = '';
  client.on('data', (chunk: Buffer) => (reply += chunk.toString('latin1')));
  await waitFor('the whole answer', () => reply.endsWith('}') || undefined);
  const [head, body] = reply.split('\r\n\r\n');
  const [statusLine, ...headers] = head!.split('\r\n');
  expect(statusLine).toBe('HTTP/1.1 429 Too Many Requests');
  expect(headers).toEqual(expect.arrayContaining(['Content-Type: application/json; charset=utf-8', 'Retry-After: 5', 'Connection: close', `Content-Length: ${body!.length}`]));
  expect(JSON.parse(body!)).toEqual({ status: 429, message: 'at most 2 open sockets per user' });
  // The server may have closed its end already: a reset then fails on this side, which is not what is tested.
  client.on('error', () => undefined);
  client.resetAndDestroy();
  await waitFor('the refused socket to close', () => refused[0]?.destroyed || undefined);
});
