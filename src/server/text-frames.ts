/**
 * Whole text messages written to a `ws` socket's TCP socket directly, as one frame made of parts.
 *
 * `ws` sends a message from one buffer: a subscriber's own opening and the shared rest of a
 * message would have to be copied together for every socket, or go as two frames that every
 * client then copies together again (a 450 KB first burst, 200 times). Here the frame header, the
 * opening and the shared rest go out in one write, nothing copied; the same way a compressed
 * message's parts go (compressed-messages.ts), with RSV1 set.
 *
 * The TCP socket is where `ws` writes its own frames too, so order holds as long as `ws` queues
 * nothing of its own (it queues only behind its own compression or a Blob, neither used here):
 * writeTextFrame checks, and otherwise leaves the message to `ws`.
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

/** What of `ws`'s internals this relies on (ws 8, pinned by the lockfile; the tests fail should they change). */
export interface WsInternals {
  _isServer: boolean;
  _socket: Socket;
  _sender: { _state: number; _queue: unknown[] };
  _extensions: { 'permessage-deflate'?: { params: { server_max_window_bits?: number | boolean } } };
}

const internals = (socket: WebSocket): WsInternals => socket as unknown as WsInternals;

/** The header of one unmasked text frame, final, marked compressed (RSV1) or not. */
function textFrameHeader(length: number, compressed: boolean): Buffer {
  const first = 0x80 | (compressed ? 0x40 : 0) | 0x01;
  if (length < 126) return Buffer.from([first, length]);
  if (length <= 0xffff) {
    const header = Buffer.from([first, 126, 0, 0]);
    header.writeUInt16BE(length, 2);
    return header;
  }
  const header = Buffer.alloc(10);
  header[0] = first;
  header[1] = 127;
  header.writeBigUInt64BE(BigInt(length), 2);
  return header;
}

/**
 * Writes `parts` as the payload of one text frame (`compressed`: parts of a permessage-deflate
 * message). `done` is called once the socket has taken it. False, with nothing written, where
 * `ws` must send it instead: while it holds messages of its own back (the caller's message then
 * goes after them), once the socket is closing (nothing may follow a close frame; `ws` reports
 * the message as not sent), or on a client's socket (whose frames are masked).
 */
export function writeTextFrame(socket: WebSocket, parts: Buffer[], compressed: boolean, done: (err?: Error) => void): boolean {
  const { _isServer: isServer, _socket: raw, _sender: sender } = internals(socket);
  if (!isServer || socket.readyState !== socket.OPEN || sender._state !== 0 || sender._queue.length > 0) return false;
  const header = textFrameHeader(parts.reduce((sum, part) => sum + part.length, 0), compressed);
  raw.cork();
  try {
    raw.write(header);
    parts.forEach((part, at) => raw.write(part, at === parts.length - 1 ? (err) => done(err ?? undefined) : undefined));
  } finally {
    raw.uncork();
  }
  return true;
}

/**
 * Runs `write`, which writes frames to `socket` (through `ws` or writeTextFrame), and sends what it
 * wrote in one system call: a message and the ping that follows it go together, which halves the
 * writes of a stream of small deltas for this process and for the hub that pipes them.
 */
export function inOneWrite<T>(socket: WebSocket, write: () => T): T {
  const raw = internals(socket)._socket;
  raw.cork();
  try {
    return write();
  } finally {
    raw.uncork();
  }
}
