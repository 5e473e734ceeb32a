/**
 * WebSocket messages compressed once for every subscriber (permessage-deflate, RFC 7692).
 *
 * The `ws` package compresses per socket: the same 450 KB first burst of a 2,000-task workflow
 * would be deflated 200 times for 200 subscribers, each socket keeping a deflate context of a few
 * hundred KB. Here the shared part of a message is deflated once and the same bytes go to every
 * socket that negotiated the extension: a message is its subscriber's own opening as a stored
 * (uncompressed) deflate block, then the shared body as deflated blocks, with the window the
 * client allows. That is one valid compressed message on its own: it never refers to earlier
 * messages, as the negotiated server_no_context_takeover promises. JSON deltas shrink 10-25
 * times, which is what goes through the hub and over every subscriber's network.
 *
 * `ws` itself never compresses here (its threshold is set out of reach, see WS_DEFLATE_OPTIONS),
 * so it never queues a message behind a deflate: its writes and these (text-frames.ts) go to the
 * socket in the order they are made.
 * What the extension costs: `ws` inflates what a client sends compressed (browsers compress
 * every message), keeping an inflate context per such socket, about 40 KB.
 */
import { constants, deflateRawSync } from 'node:zlib';
import type { WebSocket, PerMessageDeflateOptions } from 'ws';
import { writeTextFrame, type WsInternals } from './text-frames.js';

/** Bodies smaller than this go as they are: a few hundred bytes gain little and cost a deflate. */
export const COMPRESS_FROM = 1024;

/**
 * The WebSocketServer's permessage-deflate settings: negotiated, so that clients (browsers, `ws`)
 * accept compressed messages and may send their own, but never applied by `ws` to what it sends.
 * `ws` heeds its threshold only without context takeover (with it, it compresses every message,
 * each socket keeping its own deflate context): hence both.
 */
export const WS_DEFLATE_OPTIONS: PerMessageDeflateOptions = { serverNoContextTakeover: true, threshold: Number.MAX_SAFE_INTEGER };

/** The largest window a deflate stream may use, and the least Node's raw deflate takes (8 is 9). */
const WIDEST_WINDOW = 15;
const NARROWEST_WINDOW = 9;

/**
 * The window (in bits) that messages to `socket` may be deflated with, or undefined when its
 * client did not agree to compressed messages. A client may ask for a narrower window than the
 * widest (`server_max_window_bits`, as Python's `websockets` does); `ws` grants it, and a body
 * deflated with a wider one would not inflate there. `ws` keeps the negotiated parameters to
 * itself (`extensions` names the extension only).
 */
export function deflateWindow(socket: WebSocket): number | undefined {
  const agreed = (socket as unknown as WsInternals)._extensions['permessage-deflate'];
  if (!agreed) return undefined;
  const bits = agreed.params.server_max_window_bits;
  return typeof bits === 'number' ? Math.min(WIDEST_WINDOW, Math.max(NARROWEST_WINDOW, bits)) : WIDEST_WINDOW;
}

/** The end of a sync flush, which RFC 7692 has the sender leave out and the receiver put back. */
const SYNC_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** Per body, its deflated form per window size: nearly always one (15). */
const deflated = new WeakMap<Buffer, Map<number, Buffer>>();

/**
 * `body` deflated as the end of a message (kept for as long as the body lives). On this thread:
 * about a millisecond for a 450 KB burst, and zlib's asynchronous calls would each hold a
 * context of their own in the thread pool meanwhile. The default level: its output is smaller
 * than level 1's and inflates about four times faster, which is every subscriber's share.
 */
export function deflatedBody(body: Buffer, windowBits = WIDEST_WINDOW): Buffer {
  let byWindow = deflated.get(body);
  if (!byWindow) deflated.set(body, (byWindow = new Map()));
  let done = byWindow.get(windowBits);
  if (!done) {
    const out = deflateRawSync(body, { windowBits, finishFlush: constants.Z_SYNC_FLUSH });
    if (!out.subarray(-SYNC_TAIL.length).equals(SYNC_TAIL)) throw new Error('deflate did not end with a sync flush');
    done = out.subarray(0, out.length - SYNC_TAIL.length);
    // A small result would otherwise keep zlib's whole output buffer (16 KB) alive with it.
    if (out.buffer.byteLength > 2 * done.length) done = Buffer.from(done);
    byWindow.set(windowBits, done);
  }
  return done;
}

/** Largest payload of one stored deflate block. */
const STORED_MAX = 0xffff;

/** `data` as non-final stored deflate blocks: byte-aligned, so deflated blocks may follow. */
export function storedBlocks(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < data.length || parts.length === 0; at += STORED_MAX) {
    const chunk = data.subarray(at, at + STORED_MAX);
    const header = Buffer.alloc(5);
    header[0] = 0x00; // BFINAL 0, BTYPE 00 (stored), then padding to the byte boundary
    header.writeUInt16LE(chunk.length, 1);
    header.writeUInt16LE(~chunk.length & 0xffff, 3);
    parts.push(header, chunk);
  }
  return Buffer.concat(parts);
}

/** Each subscription's opening as stored blocks, made once for all its messages. */
const stored = new WeakMap<Buffer, Buffer>();

function storedOpening(opening: Buffer): Buffer {
  let blocks = stored.get(opening);
  if (!blocks) stored.set(opening, (blocks = storedBlocks(opening)));
  return blocks;
}

/**
 * Writes one compressed text message: `opening` (this socket's own) then `body` (deflatedBody's,
 * shared, written without copying). `done` is called once the socket has taken it. False, with
 * nothing written, when `ws` holds messages of its own back (it never should here): the caller
 * sends the message as it is instead, after them.
 */
export function writeCompressed(socket: WebSocket, opening: Buffer, body: Buffer, done: (err?: Error) => void): boolean {
  return writeTextFrame(socket, [storedOpening(opening), body], true, done);
}
