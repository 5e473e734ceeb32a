/**
 * A refused WebSocket upgrade: the client gets a plain HTTP error, and a client that resets the
 * connection afterwards is no uncaught error for the server (Node takes its own error listener off
 * a socket it hands to an 'upgrade' handler).
 */
import { createServer } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { refuseUpgrade } from '../../src/server/refuse-upgrade.js';
import { waitFor } from '../wait.js';

const server = createServer();
afterEach(() => {
  server.closeAllConnections();
  server.close();
});

it('answers with the status and survives a client that resets the connection', async () => {
  const refused: Socket[] = [];
  server.on('upgrade', (_req, socket) => {
    refused.push(socket as Socket);
    refuseUpgrade(socket, 403, 'Forbidden');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const client = connect(port, '127.0.0.1');
  client.write('GET /subscriptions HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  const reply = await new Promise<string>((resolve) => client.once('data', (chunk: Buffer) => resolve(chunk.toString('latin1'))));
  expect(reply.split('\r\n')[0]).toBe('HTTP/1.1 403 Forbidden');
  client.resetAndDestroy();
  await waitFor('the refused socket to close', () => refused[0]?.destroyed || undefined);
});
