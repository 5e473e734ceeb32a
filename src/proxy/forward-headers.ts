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

/**
 * The headers to send to a workflow server: the client's own, minus identity claims and hub
 * credentials, plus where the request came from and the hub's proof of identity.
 */
export function forwardedHeaders(
  req: IncomingMessage,
  opts: { hubCookies: ReadonlySet<string>; proof: string; upgrade: boolean },
): IncomingHttpHeaders {
  const listed = listedInConnection(req);
  const out: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (!isStripped(name) && !HOP_BY_HOP.has(name) && !listed?.has(name)) out[name] = value;
  }
  if (opts.upgrade) {
    out.connection = 'upgrade';
    out.upgrade = req.headers.upgrade;
  }
  const cookie = withoutCookies(req.headers.cookie, opts.hubCookies);
  if (cookie === undefined) delete out.cookie;
  else out.cookie = cookie;
  out['x-forwarded-for'] = req.socket.remoteAddress ?? '';
  out['x-forwarded-proto'] = (req.socket as TLSSocket).encrypted ? 'https' : 'http';
  if (req.headers.host) out['x-forwarded-host'] = req.headers.host;
  out[PROOF_HEADER] = opts.proof;
  return out;
}
