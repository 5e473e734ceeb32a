import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { PROOF_HEADER } from '../identity/proof.js';

/**
 * Headers a client could use to claim an identity, or that carry the hub's own credentials.
 * The workflow server reads identity only from the hub's proof, but nothing behind the hub should
 * ever see a forged claim or a hub credential, so they are all removed.
 */
const STRIPPED_PREFIXES = ['x-flotilla-', 'x-forwarded-', 'x-auth-request-', 'x-remote-', 'remote-'];
const STRIPPED_NAMES = new Set([
  'authorization', // the hub's API token
  'proxy-authorization',
  'forwarded',
  'x-real-ip',
  'x-user',
  'x-webauth-user',
]);

/** Hop-by-hop headers describe the client's connection to the hub, not the hub's to the server:
 * a client's `Connection: close` must not close the hub's kept-alive connection. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'upgrade']);

/** Headers that frame the message or route it: a client naming them in `Connection` must not make
 * the proxy drop them, or a body would reach the server as a further request on a connection that
 * other users' requests share (request smuggling). */
const NEVER_HOP_BY_HOP = new Set(['content-length', 'transfer-encoding', 'host']);

/** Names the client listed in its `Connection` header (also hop-by-hop), parsed only when present. */
function listedInConnection(req: IncomingMessage): ReadonlySet<string> | undefined {
  const header = req.headers.connection;
  if (!header) return undefined;
  const names = new Set<string>();
  for (const token of header.split(',')) {
    const name = token.trim().toLowerCase();
    if (!NEVER_HOP_BY_HOP.has(name)) names.add(name);
  }
  return names;
}

function isStripped(name: string): boolean {
  return STRIPPED_NAMES.has(name) || STRIPPED_PREFIXES.some((p) => name.startsWith(p));
}

function cookieName(pair: string): string {
  const eq = pair.indexOf('=');
  return (eq < 0 ? pair : pair.slice(0, eq)).trim();
}

/** The cookie header without the named cookies (the hub's session), or undefined if none is left. */
function withoutCookies(header: string | undefined, names: ReadonlySet<string>): string | undefined {
  if (!header) return undefined;
  const kept = header
    .split(';')
    .map((pair) => pair.trim())
    .filter((pair) => pair !== '' && !names.has(cookieName(pair)));
  return kept.length ? kept.join('; ') : undefined;
}

type Emit = (name: string, value: string | string[]) => void;

/**
 * The headers to send to a workflow server, one by one to `emit`: the client's own, minus
 * identity claims and hub credentials, plus where the request came from and the hub's proof of
 * identity.
 */
function eachForwardedHeader(req: IncomingMessage, opts: { hubCookies: ReadonlySet<string>; proof: string; upgrade: boolean }, emit: Emit): void {
  const listed = listedInConnection(req);
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name === 'cookie' || isStripped(name) || HOP_BY_HOP.has(name) || listed?.has(name)) continue;
    emit(name, value);
  }
  const cookie = withoutCookies(req.headers.cookie, opts.hubCookies);
  if (cookie !== undefined) emit('cookie', cookie);
  if (opts.upgrade) {
    emit('connection', 'upgrade');
    if (req.headers.upgrade !== undefined) emit('upgrade', req.headers.upgrade);
  }
  emit('x-forwarded-for', req.socket.remoteAddress ?? '');
  emit('x-forwarded-proto', (req.socket as TLSSocket).encrypted ? 'https' : 'http');
  if (req.headers.host) emit('x-forwarded-host', req.headers.host);
  emit(PROOF_HEADER, opts.proof);
}

/** The forwarded headers as an object, as http-proxy-3 takes them for a WebSocket upgrade. */
export function forwardedHeaders(req: IncomingMessage, opts: { hubCookies: ReadonlySet<string>; proof: string; upgrade: boolean }): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  eachForwardedHeader(req, opts, (name, value) => {
    out[name] = value;
  });
  return out;
}

/**
 * The forwarded headers of a plain request as node's client takes them fastest: names and values
 * in one flat list, written as they are rather than set one by one (a sixth of the client's cost).
 * Node adds no Host to such a list, so a request that came without one (HTTP/1.0) gets `host`,
 * the server's address, as node would have added it.
 */
export function forwardedHeaderList(req: IncomingMessage, opts: { hubCookies: ReadonlySet<string>; proof: string; host: string }): string[] {
  const out: string[] = req.headers.host === undefined ? ['host', opts.host] : [];
  eachForwardedHeader(req, { ...opts, upgrade: false }, (name, value) => {
    if (typeof value === 'string') out.push(name, value);
    else for (const one of value) out.push(name, one);
  });
  return out;
}
