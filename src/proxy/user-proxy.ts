import { Agent, request as forwardRequest, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createProxyServer } from 'http-proxy-3';
import { signProof, type Identity } from '../identity/proof.js';
import { HUB_IDLE_CONNECTION_MS } from '../util/keep-alive.js';
import { silentLogger, type Logger } from '../util/logger.js';
import { forwardedHeaderList, forwardedHeaders } from './forward-headers.js';
import { refuseUnavailableUpgrade } from './unavailable.js';

/** What the proxy needs from the spawner (which provides exactly these). */
export interface ServerDirectory {
  /** The running server of an owner, or undefined when it is not running. */
  info(owner: string): { url: string; secret: string } | undefined;
  touch(owner: string): void;
  wsOpened(owner: string): void;
  wsClosed(owner: string): void;
}

export interface UserProxyOptions {
  spawner: ServerDirectory;
  /** Name of the hub's session cookie: removed from forwarded requests, other cookies are kept. */
  sessionCookieName: string;
  /** The hub's other cookies (the sign-in form's), removed likewise. */
  otherHubCookies?: readonly string[];
  logger?: Logger;
  /** Bound on connections to one workflow server (HTTP; each WebSocket has its own). */
  maxSocketsPerServer?: number;
  /** How long a pooled connection to a server may stay idle before this side closes it (default HUB_IDLE_CONNECTION_MS). */
  idleConnectionMs?: number;
  /** How long a workflow server may take to answer a request before the client gets a 503
   * (the hub passes the site's spawner.http_timeout). WebSockets are not bounded by it. */
  timeoutMs?: number;
  /** Called for every proxied request and WebSocket upgrade with the owner of the server;
   * default: the spawner's touch. The hub passes its activity meter (server and owner). */
  onActivity?: (owner: string) => void;
  /** Answers a request whose workflow server is down or does not answer: the hub renders its own
   * page (with the session's XSRF token and the shared look) or JSON. It sees the request's
   * headers as the client sent them. */
  unavailable: (req: IncomingMessage, res: ServerResponse, owner: string) => void;
}

/** Express keeps the full target in `originalUrl` and rewrites `url` under mounted routers;
 * the server must see the path exactly as the client sent it. */
function requestTarget(req: IncomingMessage): string {
  return (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '/';
}

/** A DELETE or OPTIONS request with a chunked body: no workflow server route takes one, and
 * proxies (http-proxy-3 among them) have turned such a body into a further request on a
 * connection shared between users (request smuggling), so they are refused outright. */
function chunkedWithoutLength(req: IncomingMessage): boolean {
  return (req.method === 'DELETE' || req.method === 'OPTIONS') && req.headers['transfer-encoding'] !== undefined && req.headers['content-length'] === undefined;
}

/** A request's way to its server: where it listens, and the proof of identity for that request. */
interface Signed {
  server: { url: string };
  proof: string;
}

/** Where a server listens: `host` is `hostname:port`, as a Host header names it. */
interface ServerAddress {
  hostname: string;
  port: string;
  host: string;
}

/** An HTTP/1.1 request has a body only when it says so by its length or its transfer coding. */
function hasBody(headers: IncomingHttpHeaders): boolean {
  return headers['content-length'] !== undefined || headers['transfer-encoding'] !== undefined;
}

/** A request that may be sent twice (RFC 9110's safe methods) and has no body to send again. */
function repeatable(req: IncomingMessage): boolean {
  return (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') && !hasBody(req.headers);
}

/** The errors of a connection the other end closed or reset before answering. */
function staleConnection(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ECONNRESET' || code === 'EPIPE';
}

/** Headers of the server's answer that describe the hub's connection to it, not the client's to
 * the hub: node frames the answer to the client itself. */
const ANSWER_HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);

function answerHeaders(answer: IncomingMessage): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(answer.headers)) if (value !== undefined && !ANSWER_HOP_BY_HOP.has(name)) headers[name] = value;
  return headers;
}

/**
 * Forwards `/user/<owner>/…` requests and WebSocket upgrades to the owner's workflow server,
 * unchanged in path, with client identity claims removed and the hub's proof of identity added.
 * Callers have already authenticated the user and checked `access:servers` (and, for upgrades,
 * the Origin); `identity` is what they established.
 */
export class UserProxy {
  private readonly proxy = createProxyServer({ xfwd: false, changeOrigin: false });
  private readonly agent: Agent;
  private readonly servers: ServerDirectory;
  private readonly hubCookies: ReadonlySet<string>;
  private readonly log: Logger;
  private readonly timeoutMs: number;
  private readonly onActivity: (owner: string) => void;
  private readonly unavailable: (req: IncomingMessage, res: ServerResponse, owner: string) => void;
  /** Each owner's server address as last parsed, parsed again only when the server's URL changes. */
  private readonly addresses = new Map<string, ServerAddress & { url: string }>();

  constructor(opts: UserProxyOptions) {
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.unavailable = opts.unavailable;
    this.servers = opts.spawner;
    this.onActivity = opts.onActivity ?? ((owner) => this.servers.touch(owner));
    this.hubCookies = new Set([opts.sessionCookieName, ...(opts.otherHubCookies ?? [])]);
    this.log = opts.logger ?? silentLogger();
    // Idle connections are closed from this side, well before the server would (see keep-alive.ts).
    this.agent = new Agent({ keepAlive: true, timeout: opts.idleConnectionMs ?? HUB_IDLE_CONNECTION_MS, maxSockets: opts.maxSocketsPerServer ?? 64, maxFreeSockets: 32 });
    // WebSocket errors without a per-call callback (e.g. a client socket failing mid-stream) land
    // here; an unhandled 'error' event would take the hub down.
    this.proxy.on('error', (err, _req, resOrSocket) => {
      this.log.debug({ err: err.message }, 'proxy stream error');
      if ('destroy' in resOrSocket) resOrSocket.destroy();
    });
  }

  /** `unavailable`: this request's answer when the server is down or does not answer (default: the hub's page). */
  web(req: IncomingMessage, res: ServerResponse, owner: string, identity: Identity, unavailable = this.unavailable): void {
    if (!this.identityFits(owner, identity)) {
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"message":"internal error","status":500}');
      return;
    }
    if (chunkedWithoutLength(req)) {
      res.writeHead(400, { 'content-type': 'application/json', connection: 'close' });
      res.end('{"message":"a DELETE or OPTIONS request may not carry a chunked body","status":400}');
      return;
    }
    const prepared = this.prepare(req, owner, identity);
    if (!prepared) return unavailable(req, res, owner);
    const failed = (err: Error): void => {
      if (res.destroyed || res.writableEnded) return;
      this.log.warn({ owner, err: err.message }, 'workflow server did not answer a request');
      if (res.headersSent) return void res.destroy();
      unavailable(req, res, owner);
    };
    let forwarded: ClientRequest | undefined;
    // Node's own client on the pooled agent: http-proxy-3's passes cost more per request than
    // the forwarding itself, and a request and its answer need nothing beyond this.
    // `retry`: whether this is the second try, on a connection of its own.
    const send = ({ server, proof }: Signed, retry: boolean): void => {
      const { hostname, port, host } = this.addressOf(owner, server.url);
      let attempt: ClientRequest;
      try {
        const headers = forwardedHeaderList(req, { hubCookies: this.hubCookies, proof, host });
        attempt = forwardRequest({ host: hostname, port, method: req.method, path: req.url, headers, agent: retry ? false : this.agent });
      } catch (err) {
        // Node's client refuses (throws) a path or header it would not send: an answer, not a crash.
        return failed(err as Error);
      }
      forwarded = attempt;
      attempt.setTimeout(this.timeoutMs, () => attempt.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      attempt.on('error', (err) => {
        // A pooled connection that the server closed before answering (idle connections are
        // closed from this side first, but a server can restart): a request that is safe to repeat
        // goes again on a connection of its own (others in the pool may have gone the same way),
        // with a fresh proof (each is good for one request), instead of the client getting a 503
        // for a server that is up (and a page whose script that was, not running).
        if (!retry && !res.destroyed && repeatable(req) && attempt.reusedSocket && staleConnection(err) && !res.headersSent) {
          this.log.debug({ owner, err: err.message }, 'pooled connection closed under a request; sending it again');
          const again = this.signed(req, owner, identity);
          return again ? send(again, true) : failed(err);
        }
        failed(err);
      });
      attempt.on('response', (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, answerHeaders(answer));
        answer.on('error', () => res.destroy());
        answer.pipe(res);
      });
      // Most requests (GETs) have no body: ending at once spares a pipe set up and torn down for none.
      if (hasBody(req.headers)) req.pipe(attempt);
      else attempt.end();
    };
    // A client gone before its answer is complete: the server's work for it is dropped too.
    res.on('close', () => {
      if (!res.writableFinished) forwarded?.destroy();
    });
    req.on('error', () => forwarded?.destroy());
    send(prepared, false);
  }

  ws(req: IncomingMessage, socket: Duplex, head: Buffer, owner: string, identity: Identity): void {
    if (!this.identityFits(owner, identity)) {
      socket.destroy();
      return;
    }
    const prepared = this.prepare(req, owner, identity);
    if (!prepared) return refuseUnavailableUpgrade(socket, owner);
    const { server, proof } = prepared;
    req.headers = forwardedHeaders(req, { hubCookies: this.hubCookies, proof, upgrade: true });
    this.servers.wsOpened(owner);
    socket.once('close', () => this.servers.wsClosed(owner));
    // A fresh connection per WebSocket: it lives long and must not hold a pooled HTTP socket.
    this.proxy.ws(req, socket as Socket, head, { target: server.url, agent: false }, (err) => {
      this.log.warn({ owner, err: err.message }, 'workflow server did not answer a WebSocket upgrade');
      // Once anything went back to the client (the 101), an HTTP answer would corrupt the stream.
      if ((socket as Socket).bytesWritten === 0 && socket.writable) refuseUnavailableUpgrade(socket, owner);
      else socket.destroy();
    });
  }

  /** Frees pooled connections; open WebSockets are left to close on their own. */
  close(): void {
    this.agent.destroy();
  }

  private addressOf(owner: string, url: string): ServerAddress {
    const known = this.addresses.get(owner);
    if (known?.url === url) return known;
    const { hostname, port, host } = new URL(url);
    const address = { url, hostname, port, host };
    this.addresses.set(owner, address);
    return address;
  }

  /** A mismatch is a caller bug, never a client's doing: forwarding would sign a proof that
   * another server's owner is this one's. Refuse rather than guess. */
  private identityFits(owner: string, identity: Identity): boolean {
    if (identity.owner === owner) return true;
    this.log.error({ owner, identityOwner: identity.owner }, 'proxy called with an identity for another owner');
    return false;
  }

  /** Looks up the server, records activity, sets the target to forward and signs the proof for it. */
  private prepare(req: IncomingMessage, owner: string, identity: Identity): Signed | undefined {
    const signed = this.signed(req, owner, identity);
    if (signed) this.onActivity(owner);
    return signed;
  }

  /** The running server and a proof for this request to it: each proof is good for one request. */
  private signed(req: IncomingMessage, owner: string, identity: Identity): Signed | undefined {
    const server = this.servers.info(owner);
    if (!server) return undefined;
    const target = requestTarget(req);
    req.url = target;
    return { server, proof: signProof(server.secret, identity, { method: req.method ?? 'GET', target }) };
  }
}
