import type { Duplex } from 'node:stream';

const RETRY_AFTER_SECONDS = 5;

/** 503 for a WebSocket upgrade whose workflow server is down, written as raw HTTP before the
 * socket is closed (HTTP requests get the hub's own answer: UserProxyOptions.unavailable). */
export function refuseUpgrade(socket: Duplex, owner: string): void {
  const body = JSON.stringify({ message: `The workflow server of ${owner} is not answering.`, status: 503 });
  socket.end(
    'HTTP/1.1 503 Service Unavailable\r\n' +
      'Content-Type: application/json; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `Retry-After: ${RETRY_AFTER_SECONDS}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
    () => socket.destroy(),
  );
}
