/**
 * A `ws` server and real clients on loopback, for tests that write frames to the server's side of a
 * socket and check what its client reads (compressed-messages, text-frames, subscription-frames).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { WS_DEFLATE_OPTIONS } from '../../src/server/compressed-messages.js';

/** The TCP socket under a `ws` socket (either side). */
export const tcpSocket = (ws: WebSocket): Socket => (ws as unknown as { _socket: Socket })._socket;

/** Bytes a client has read from the wire so far, frames and all. */
export const wireBytes = (client: WebSocket): number => tcpSocket(client).bytesRead;

export interface WsPair {
  client: WebSocket;
  /** The server's side of the same socket. */
  server: WebSocket;
  /** What the client received, in order: text messages, `(binary)`, and pings as `(ping DATA)`. */
  received: string[];
}

export interface WsPairs {
  connect(perMessageDeflate: boolean | { serverMaxWindowBits: number }): Promise<WsPair>;
  /** Ends every socket opened so far. */
  dropClients(): void;
  close(): Promise<void>;
}

/** A WebSocketServer with the workflow server's deflate settings, whose sockets `connect` opens in pairs. */
export async function startWsPairs(): Promise<WsPairs> {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: WS_DEFLATE_OPTIONS });
  const http: Server = createServer();
  // Each client asks for a path of its own, by which its server side is found.
  const serverSides = new Map<string, Promise<WebSocket>>();
  const clients: WebSocket[] = [];
  http.on('upgrade', (req, socket, head) => {
    serverSides.set(req.url ?? '', new Promise((resolve) => wss.handleUpgrade(req, socket, head, resolve)));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `ws://127.0.0.1:${(http.address() as AddressInfo).port}`;
  let opened = 0;
  const dropClients = (): void => {
    for (const client of clients.splice(0)) client.terminate();
    for (const server of wss.clients) server.terminate();
  };
  return {
    async connect(perMessageDeflate) {
      const path = `/${++opened}`;
      const client = new WebSocket(url + path, { perMessageDeflate });
      clients.push(client);
      const received: string[] = [];
      client.on('message', (data, isBinary) => received.push(isBinary ? '(binary)' : String(data)));
      client.on('ping', (data) => received.push(`(ping ${String(data)})`));
      await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
      return { client, server: await serverSides.get(path)!, received };
    },
    dropClients,
    async close() {
      dropClients();
      wss.close();
      await new Promise((resolve) => http.close(resolve));
    },
  };
}
