import type { Duplex } from 'node:stream';
import type { Logger } from '../../util/logger.js';

/** Whether what let a socket through at its upgrade still holds; any doubt is a no. */
export type StillAllowed = () => Promise<boolean>;

const RECHECK_EVERY_MS = 1_000;

/**
 * Proxied WebSockets outlive the request that authenticated them. The workflow server closes a
 * socket whose user loses `read`, but it cannot know what only the hub knows: that the session
 * was signed out, the API token revoked, the account removed or blocked, or `access:servers`
 * withdrawn. So the hub re-checks every open socket within a second and cuts those that no
 * longer pass.
 */
export class LiveSockets {
  private readonly open = new Map<Duplex, { user: string; owner: string; check: StillAllowed }>();
  private readonly timer: NodeJS.Timeout;
  private running = false;

  constructor(private readonly logger: Logger) {
    this.timer = setInterval(() => void this.recheck(), RECHECK_EVERY_MS);
    this.timer.unref();
  }

  add(socket: Duplex, user: string, owner: string, check: StillAllowed): void {
    this.open.set(socket, { user, owner, check });
    socket.once('close', () => this.open.delete(socket));
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

  close(): void {
    clearInterval(this.timer);
    this.open.clear();
  }
}
