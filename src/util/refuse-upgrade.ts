import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * Answers a WebSocket upgrade request with an HTTP error, `{"status":…,"message":…}` as JSON like
 * every other error of the hub and the servers, and closes the socket: the one way the hub, its
 * proxy and the workflow servers refuse an upgrade. Node takes its own error listener off a socket
 * it hands to an 'upgrade' handler, so one goes on here: a client that resets the connection is
 * then a closed socket, not an uncaught error.
 */
export function refuseUpgrade(socket: Duplex, status: number, message: string, headers: Readonly<Record<string, string | number>> = {}): void {
  socket.on('error', () => socket.destroy());
  const body = JSON.stringify({ status, message });
  const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`,
    () => socket.destroy(),
  );
}
