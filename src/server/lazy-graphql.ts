/**
 * GraphQL over HTTP and WebSocket, loaded when first needed (see app.ts's loadGraphqlHttp for why), in
 * two steps: GraphQL over HTTP first, then the WebSocket side on top of it, so that the first query
 * (a page's first request for its data) is answered without waiting for the second step. Until
 * both are ready, WebSocket upgrades are held here and handed over in the order they came.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../util/logger.js';
import { refuseUpgrade } from '../util/refuse-upgrade.js';

/** Upgrades held at most while GraphQL loads; more are refused with 503 (a burst must not grow memory without bound). */
export const MAX_HELD_UPGRADES = 500;
/** Bytes a held socket may send before its handshake is answered (a WebSocket client sends none). */
const MAX_EARLY_BYTES = 16 * 1024;

export interface LazyGraphqlOptions<Http, Part> {
  server: Server;
  /** Loads GraphQL over HTTP; called once. */
  loadHttp: () => Promise<Http>;
  /** Then loads the WebSocket side on top of it, which attaches its own upgrade handling to `server`; called once. */
  load: (http: Http) => Promise<Part>;
  logger: Logger;
  /**
   * Called once when GraphQL cannot be loaded. The server stops there (app.ts exits with 70, as
   * for other damage found at run time) rather than retry: what fails is the server's own code
   * on disk or its schema, which fails again the same way (Node keeps a module that failed to
   * load failed), so a retrying server would look healthy to the hub while every page stays
   * broken; a stopped one is noticed and the next visit starts a fresh one.
   */
  onFatal: (err: Error) => void;
  maxHeld?: number;
}

interface HeldUpgrade {
  req: IncomingMessage;
  /** What the client sent after its request, handed over with it. */
  head: Buffer;
  dropped: () => void;
  early: (chunk: Buffer) => void;
  ended: () => void;
}

export class LazyGraphql<Http, Part> {
  private part: Part | undefined;
  private loads: { http: Promise<Http>; all: Promise<Part> } | undefined;
  private readonly held = new Map<Duplex, HeldUpgrade>();

  constructor(private readonly options: LazyGraphqlOptions<Http, Part>) {
    options.server.on('upgrade', this.hold);
  }

  /** GraphQL, once it has loaded. */
  get loaded(): Part | undefined {
    return this.part;
  }

  /** Sockets waiting for GraphQL now. */
  get heldCount(): number {
    return this.held.size;
  }

  /** GraphQL, loading it first if need be; rejects (after onFatal) if it cannot load. */
  get(): Promise<Part> {
    return this.begin().all;
  }

  /** GraphQL over HTTP, as soon as that step has loaded (loading all of GraphQL if need be); rejects if it cannot load. */
  http(): Promise<Http> {
    return this.begin().http;
  }

  /** Starts loading without waiting; a failure has already gone to onFatal. */
  loadNow(): void {
    this.get().catch(() => undefined);
  }

  /** Starts loading once `res` has been sent (a page whose script asks for GraphQL next), unless already begun. */
  loadAfter(res: ServerResponse): void {
    if (this.loads === undefined) res.once('finish', () => this.loadNow());
  }

  /** Waits for a load in progress (its outcome either way); for closing. */
  async settled(): Promise<Part | undefined> {
    return this.loads?.all.catch(() => undefined);
  }

  private readonly hold = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (this.held.size >= (this.options.maxHeld ?? MAX_HELD_UPGRADES)) {
      this.options.logger.warn({ held: this.held.size }, 'websocket refused: too many waiting for GraphQL to load');
      refuseUpgrade(socket, 503, 'the server is starting; try again in a moment');
      return;
    }
    // The HTTP server takes its own error listener off an upgraded socket: without one, a client
    // that goes away (ECONNRESET) would be an uncaught error. It stays on after the hand-over, for
    // a refusal that writes to a socket already gone.
    socket.on('error', (err) => this.options.logger.debug({ err: err.message }, 'a waiting websocket failed'));
    // Read while waiting, or a client that leaves (a reset, or an end: the HTTP server allows half-open
    // sockets) would go unnoticed; what it sends is kept for GraphQL, within reason.
    const entry: HeldUpgrade = {
      req,
      head,
      dropped: () => this.held.delete(socket),
      early: (chunk) => {
        entry.head = Buffer.concat([entry.head, chunk]);
        if (entry.head.length > MAX_EARLY_BYTES) socket.destroy();
      },
      ended: () => socket.destroy(),
    };
    socket.once('close', entry.dropped);
    socket.on('data', entry.early);
    socket.once('end', entry.ended);
    this.held.set(socket, entry);
    this.loadNow();
  };

  private begin(): { http: Promise<Http>; all: Promise<Part> } {
    if (this.loads === undefined) {
      const http = this.options.loadHttp();
      const all = http.then(this.options.load).then(
        (part) => this.ready(part),
        (err: unknown) => this.failed(err instanceof Error ? err : new Error(String(err))),
      );
      this.loads = { http, all };
    }
    return this.loads;
  }

  private ready(part: Part): Part {
    this.part = part;
    this.options.server.off('upgrade', this.hold);
    for (const [socket, { req, head, dropped, early, ended }] of this.takeHeld()) {
      socket.off('close', dropped).off('data', early).off('end', ended);
      if (!socket.destroyed) this.options.server.emit('upgrade', req, socket, head);
    }
    return part;
  }

  private failed(err: Error): never {
    this.options.server.off('upgrade', this.hold);
    for (const [socket] of this.takeHeld()) socket.destroy();
    this.options.onFatal(err);
    throw err;
  }

  private takeHeld(): [Duplex, HeldUpgrade][] {
    const all = [...this.held];
    this.held.clear();
    return all;
  }
}
