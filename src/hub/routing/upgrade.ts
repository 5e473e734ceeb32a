import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RequestHandler } from 'express';
import type { Store } from 'express-session';
import { authenticate, hasTokenInQuery, TOKEN_IN_URL_MESSAGE, type Caller } from '../auth/caller.js';
import { identityFor, type HubContext } from '../context.js';
import { accessOfCaller } from '../roles/request-access.js';
import type { LiveSockets, StillAllowed } from './live-sockets.js';
import { parseUserPath } from './user-path.js';
import { refuseUpgrade } from '../../util/refuse-upgrade.js';

/** The session user of a raw upgrade request, read through the same session middleware and store. */
function sessionUserOf(req: IncomingMessage, sessions: RequestHandler): Promise<{ user?: string; xsrf?: string; sid?: string }> {
  return new Promise((resolve) => {
    const res = new ServerResponse(req);
    sessions(req as Parameters<RequestHandler>[0], res as unknown as Parameters<RequestHandler>[1], () => {
      const session = (req as { session?: { passport?: { user?: unknown }; csrfToken?: unknown } }).session;
      const user = session?.passport?.user;
      const xsrf = session?.csrfToken;
      const sid = (req as { sessionID?: unknown }).sessionID;
      resolve({
        user: typeof user === 'string' ? user : undefined,
        xsrf: typeof xsrf === 'string' ? xsrf : undefined,
        sid: typeof sid === 'string' ? sid : undefined,
      });
    });
  });
}

/** The signed-in user of a stored session, now (undefined once signed out or expired). */
function storedSessionUser(store: Store, sid: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    store.get(sid, (err, data) => {
      const user = (data as { passport?: { user?: unknown } } | null | undefined)?.passport?.user;
      resolve(!err && typeof user === 'string' ? user : undefined);
    });
  });
}

/** What must still hold for an open socket: the same sign-in (token or session), the account, and access:servers. */
function stillAllowed(ctx: HubContext, store: Store, req: IncomingMessage, caller: Caller, owner: string, sid: string | undefined): StillAllowed {
  const authorization = req.headers.authorization;
  return async () => {
    if (!ctx.users.exists(caller.user) || !accessOfCaller(ctx.permissions, caller).can('access:servers', { user: owner })) return false;
    if (caller.via === 'token') {
      const again = authenticate({ headers: { authorization } } as IncomingMessage, undefined, ctx.tokens, ctx.users);
      return again.ok && again.caller?.user === caller.user;
    }
    return sid !== undefined && (await storedSessionUser(store, sid)) === caller.user;
  };
}

/**
 * WebSocket upgrades for `/user/NAME/…`: the same checks as HTTP (name, authentication,
 * access:servers) plus the Origin header, which must be one of the hub's public origins
 * (`public_url`) so that another site's page cannot open a socket with the visitor's cookie. The
 * Host header plays no part: whoever sends the request chooses it. Token clients may omit Origin;
 * cookie ones may not.
 * Accepted sockets are handed to `live`, which cuts them when their sign-in or access ends; a
 * user's socket to one server past `WorkflowServer.limits.sockets_per_user` is refused with 429.
 */
export function upgradeHandler(ctx: HubContext, sessions: RequestHandler, store: Store, live: LiveSockets) {
  return async (req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    socket.on('error', () => socket.destroy());
    try {
      const target = req.url ?? '';
      const parsed = parseUserPath(target);
      if (!parsed.ok) return refuseUpgrade(socket, parsed.message === 'not a /user/NAME/ path' ? 404 : 400, parsed.message);
      if (hasTokenInQuery(target)) return refuseUpgrade(socket, 400, TOKEN_IN_URL_MESSAGE);
      const { user: sessionUser, xsrf, sid } = req.headers.authorization ? {} : await sessionUserOf(req, sessions);
      const auth = authenticate(req, sessionUser, ctx.tokens, ctx.users);
      if (!auth.ok) return refuseUpgrade(socket, 401, auth.message);
      const caller = auth.caller;
      if (!caller) return refuseUpgrade(socket, 401, 'authentication required: sign in, or send "Authorization: token <API token>"');
      const origin = req.headers.origin;
      if (origin === undefined ? caller.via === 'cookie' : !ctx.publicOrigins.has(origin)) {
        return refuseUpgrade(socket, 403, `WebSocket refused: the Origin must be this hub (${[...ctx.publicOrigins].join(' or ')})`);
      }
      // The browser reached the hub under one of its public origins; the workflow server knows
      // only bind_url's. Having checked the Origin here, forward that one so both layers agree.
      if (origin !== undefined) req.headers.origin = ctx.origin;
      const owner = parsed.owner;
      if (!accessOfCaller(ctx.permissions, caller).can('access:servers', { user: owner })) {
        return refuseUpgrade(socket, 404, `There is no server at /user/${owner}/ that you may reach.`);
      }
      if (ctx.servers.status(owner) !== 'running') {
        return refuseUpgrade(socket, 503, `${owner}'s server is not running; open /user/${owner}/ to start it`);
      }
      // The server caps these too; refusing here spares both ends a proxied connection.
      const cap = ctx.config.WorkflowServer.limits.sockets_per_user;
      if (live.countOf(caller.user, owner) >= cap) {
        return refuseUpgrade(socket, 429, `at most ${cap} open sockets per user on a server (WorkflowServer.limits.sockets_per_user)`);
      }
      live.add(socket, caller.user, owner, stillAllowed(ctx, store, req, caller, owner, sid));
      ctx.proxy.ws(req, socket, head, owner, identityFor(ctx, caller, owner, xsrf));
    } catch (err) {
      ctx.internalError('WebSocket upgrade failed', err);
      refuseUpgrade(socket, 500, 'internal error in the hub');
    }
  };
}
