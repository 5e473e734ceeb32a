import WebSocket from 'ws';
import { waitFor } from './helpers.js';

export interface GraphqlSocket {
  ws: WebSocket;
  /** Every message received so far. */
  messages: { type: string }[];
  /** A graphql-transport-ws ping, which the server answers with a pong: a message each way. */
  ping(): Promise<void>;
  close(): void;
}

/**
 * Opens `/user/OWNER/subscriptions` through the hub and waits for connection_ack. `as`: a token,
 * or the headers of the upgrade request (a cookie and an Origin, say).
 */
export async function openGraphqlSocket(hubUrl: string, owner: string, as: string | Record<string, string>): Promise<GraphqlSocket> {
  const ws = new WebSocket(`${hubUrl.replace('http', 'ws')}/user/${owner}/subscriptions`, 'graphql-transport-ws', {
    headers: typeof as === 'string' ? { Authorization: `token ${as}` } : as,
  });
  const messages: { type: string }[] = [];
  ws.on('message', (data) => messages.push(JSON.parse(data.toString()) as { type: string }));
  await new Promise<void>((resolve, reject) => {
    ws.on('open', () => resolve());
    ws.on('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.on('error', reject);
  });
  ws.send(JSON.stringify({ type: 'connection_init', payload: {} }));
  await waitFor('connection_ack', () => messages.some((m) => m.type === 'connection_ack'), 20_000);
  return {
    ws,
    messages,
    async ping() {
      const pongs = messages.filter((m) => m.type === 'pong').length;
      ws.send(JSON.stringify({ type: 'ping' }));
      await waitFor('pong', () => messages.filter((m) => m.type === 'pong').length > pongs, 10_000);
    },
    close: () => ws.close(),
  };
}
