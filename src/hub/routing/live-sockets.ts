import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../util/logger.js';

/** Whether what let a socket through at its upgrade still holds; any doubt is a no. */
export type StillAllowed = () => Promise<boolean>;

const RECHECK_EVERY_MS = 1_000;

/** Bytes a socket has carried, both ways (a net.Socket counts them; another Duplex counts none). */
function bytesCarried(socket: Duplex): number {
  const counted = socket as Partial<Pick<Socket, 'bytesRead' | 'bytesWritten'>>;
  return (counted.bytesRead ?? 0) + (counted.bytesWritten ?? 0);
}

/**
 * A WebSocket close frame, server to client (unmasked), code 1001 Going Away. The hub only pipes
 * the bytes of a proxied socket, so it says goodbye in the protocol's own words. A frame that
 * the server was still sending is cut; the client then sees a protocol error instead, which
 * closes the socket all the same.
 */
const GOING_AWAY_FRAME = Buffer.from([0x88, 0x02, 0x03, 0xe9]);

/**
 * Proxied WebSockets outlive the request that authenticated them. The workflow server closes a
 * socket whose user loses `read`, but it cannot know what only the hub knows: that the session
 * was signed out, the API token revoked, the account removed or blocked, or `access:servers`
 * withdrawn. So the hub re-checks every open socket within a second and cuts those that no
 * longer pass.
 * On the same beat it reports `onTraffic(owner)` for each socket that carried bytes either way
 * since the last look: messages on a socket are activity of the server, as JupyterHub's proxy
 * counts them, at the cost of one comparison per socket per second whatever the message rate.
 */
export class LiveSockets {
  private readonly open = new Map<Duplex, { user: string; owner: string; check: StillAllowed; bytes: number }>();
  private readonly timer: NodeJS.Timeout;
  private running = false;

  constructor(
    private readonly logger: Logger,
    private readonly onTraffic: (owner: string) => void = () => undefined,
  ) {
    this.timer = setInterval(() => {
      this.sampleTraffic();
      void this.recheck();
    }, RECHECK_EVERY_MS);
    this.timer.unref();
  }

  add(socket: Duplex, user: string, owner: string, check: StillAllowed): void {
    this.open.set(socket, { user, owner, check, bytes: bytesCarried(socket) });
    socket.once('close', () => {
      const entry = this.open.get(socket);
      if (entry) this.noteTraffic(socket, entry);
      this.open.delete(socket);
    });
  }

  private sampleTraffic(): void {
    for (const [socket, entry] of this.open) this.noteTraffic(socket, entry);
  }

  /** Reports the socket's owner when it carried bytes since the last look. */
  private noteTraffic(socket: Duplex, entry: { owner: string; bytes: number }): void {
    const bytes = bytesCarried(socket);
    if (bytes === entry.bytes) return;
    entry.bytes = bytes;
    this.onTraffic(entry.owner);
  }

  get size(): number {
    return this.open.size;
  }

  /** Open sockets of `user` to `owner`'s server. */
  countOf(user: string, owner: string): number {
    let count = 0;
    for (const entry of this.open.values()) if (entry.user === user && entry.owner === owner) count += 1;
    return count;
  }

  /** Checks every open socket now; also called on account, group and role changes. */
  async recheck(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await Promise.all(
        [...this.open].map(async ([socket, entry]) => {
          let allowed: boolean;
          try {
            allowed = await entry.check();
          } catch {
            allowed = false;
          }
          if (allowed) return;
          // Cut first: nothing after the verdict (such as logging) may keep the socket open.
          this.open.delete(socket);
          socket.destroy();
          this.logger.info({ user: entry.user, owner: entry.owner }, 'closed a proxied WebSocket: its sign-in or access:servers no longer holds');
        }),
      );
    } finally {
      this.running = false;
    }
  }

  /**
   * The hub is stopping: tells every proxied socket's client 1001 Going Away and waits up to
   * `graceMs` for them to close; those still open then are cut. The workflow servers' ends of
   * the sockets follow the clients' (the proxy ends them), and the servers keep running.
   */
  async goingAway(graceMs: number): Promise<void> {
    const sockets = [...this.open.keys()];
    const closed = sockets.map((socket) => new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve()))));
    for (const socket of sockets) {
      if (socket.writable) socket.end(GOING_AWAY_FRAME);
      else socket.destroy();
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([Promise.all(closed), late]);
    clearTimeout(timer);
    for (const socket of sockets) socket.destroy();
  }

  close(): void {
    clearInterval(this.timer);
    this.open.clear();
  }
}
