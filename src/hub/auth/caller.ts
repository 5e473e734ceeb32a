import type { Request } from 'express';
import type { IncomingMessage } from 'node:http';
import type { ServiceTokens } from '../tokens/service-tokens.js';
import type { TokenStore } from '../tokens/token-store.js';
import type { UserDirectory } from './user-directory.js';

/** Who is making a request, and how the hub knows. */
export interface Caller {
  user: string;
  via: 'cookie' | 'token';
  /** The API token's id and own scopes (undefined: all of the user's); absent for a cookie. */
  token?: { id: string; scopes: string[] | undefined };
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface User {
      name: string;
    }
    interface Request {
      caller?: Caller;
      /** A JupyterHub service authenticated by its api_token: it may use the REST API only. */
      service?: string;
    }
  }
}

export type Authentication = { ok: true; caller: Caller | null; service?: string } | { ok: false; message: string };

const TOKEN_SCHEME = /^(token|bearer)\s+(\S+)\s*$/i;

/**
 * Authenticates a request from its Authorization header (API token) or, without one, from the
 * session user that passport restored. A header that is present but wrong fails: it never falls
 * back to the cookie.
 */
export function authenticate(
  req: IncomingMessage,
  sessionUser: string | undefined,
  tokens: TokenStore,
  users: UserDirectory,
  services?: ServiceTokens,
): Authentication {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const match = TOKEN_SCHEME.exec(header);
    if (!match) return { ok: false, message: 'unsupported Authorization header; send "Authorization: token <API token>"' };
    const service = services?.lookup(match[2]!);
    if (service !== undefined) return { ok: true, caller: null, service };
    const found = tokens.lookup(match[2]!);
    if (!found || !users.exists(found.user)) return { ok: false, message: 'invalid or expired API token' };
    return { ok: true, caller: { user: found.user, via: 'token', token: { id: found.id, scopes: found.scopes ?? undefined } } };
  }
  if (sessionUser && users.exists(sessionUser)) return { ok: true, caller: { user: sessionUser, via: 'cookie' } };
  return { ok: true, caller: null };
}

/** Tokens never travel in URLs, where logs and browser history would keep them. */
export function hasTokenInQuery(rawUrl: string | undefined): boolean {
  const q = rawUrl?.indexOf('?') ?? -1;
  if (q === -1) return false;
  const params = new URLSearchParams(rawUrl!.slice(q + 1));
  for (const name of params.keys()) if (name.toLowerCase() === 'token') return true;
  return false;
}

export const TOKEN_IN_URL_MESSAGE =
  'API tokens are not accepted in URLs; send them in the header "Authorization: token <API token>"';

const JSON_CONTENT = /^[^;]*[/+]json\s*(;|$)/i;

/**
 * Whether the hub answers JSON rather than a page or a redirect to the sign-in form. Only a
 * browser navigating to a page gets HTML: a GET (or HEAD) without an Authorization header or a
 * JSON body whose Accept names text/html and prefers it, as browsers send on navigation.
 * Everything else gets JSON it can read: other methods, tokens, fetch and curl (whose Accept is
 * the any-type wildcard), Accept: application/json.
 */
export function wantsJson(req: Request): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return true;
  if (req.headers.authorization !== undefined) return true;
  if (JSON_CONTENT.test(req.headers['content-type'] ?? '')) return true;
  if (!/text\/html/i.test(req.headers.accept ?? '')) return true;
  return req.accepts(['json', 'html']) !== 'html';
}
