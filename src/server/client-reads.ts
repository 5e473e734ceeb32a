/**
 * When a WebSocket client has read what was written to it. The `send` callback only says the
 * bytes reached this process's kernel: between here and a subscriber there are several megabytes
 * of socket buffers (ours, the hub's proxy, the client's), so a stream paced by it queues
 * seconds of stale deltas under load. A ping written after a message is answered by the client's
 * pong only once it has read everything before it (the hub pipes control frames like any other),
 * so waiting for that pong paces each stream to what its client really takes; meanwhile its
 * changes merge into one delta (src/scheduler/deltas.ts).
 *
 * Every client must answer pings already: graphql-ws closes a socket that leaves its keep-alive
 * ping unanswered, which also ends any wait here.
 */
import type { WebSocket } from 'ws';

const TAG = 'flotilla-read:';

class ReadReceipts {
  private sent = 0;
  private answered = 0;
  private readonly waiting: { seq: number; resolve: () => void }[] = [];

  constructor(private readonly socket: WebSocket) {
    socket.on('pong', (data: Buffer) => this.pong(data));
    socket.once('close', () => this.release(Number.POSITIVE_INFINITY));
  }

  /** Resolves once the client has read everything written so far (at once when it is gone). */
  read(): Promise<void> {
    if (this.socket.readyState !== this.socket.OPEN) return Promise.resolve();
    const seq = ++this.sent;
    return new Promise((resolve) => {
      this.waiting.push({ seq, resolve });
      this.socket.ping(`${TAG}${seq}`);
    });
  }

  private pong(data: Buffer): void {
    const text = data.toString();
    // Pongs to other pings (graphql-ws's keep-alive) say nothing about our messages.
    if (!text.startsWith(TAG)) return;
    const seq = Number(text.slice(TAG.length));
    if (Number.isSafeInteger(seq) && seq <= this.sent) this.release(seq);
  }

  /** Pongs come in the order of their pings: one answers every ping before it too. */
  private release(upTo: number): void {
    this.answered = Math.max(this.answered, upTo);
    for (let first = this.waiting[0]; first && first.seq <= this.answered; first = this.waiting[0]) {
      this.waiting.shift();
      first.resolve();
    }
  }
}

const receipts = new WeakMap<WebSocket, ReadReceipts>();

/** Resolves once the client of `socket` has read everything written to it before this call. */
export function clientHasRead(socket: WebSocket): Promise<void> {
  let forSocket = receipts.get(socket);
  if (!forSocket) receipts.set(socket, (forSocket = new ReadReceipts(socket)));
  return forSocket.read();
}
