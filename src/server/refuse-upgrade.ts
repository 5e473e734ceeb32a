import type { Duplex } from 'node:stream';

/**
 * Answers a WebSocket upgrade request with a plain HTTP error and closes the socket. Node takes
 * its own error listener off a socket it hands to an 'upgrade' handler, so one goes on here: a
 * client that resets the connection is then a closed socket, not an uncaught error.
 */
export function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  socket.on('error', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
}
