import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request } from 'express';
import { authenticate, hasTokenInQuery } from '../auth/caller.js';
import { identityFor, type HubContext } from '../context.js';
import { accessOfCaller } from '../roles/request-access.js';
import { parseUserPath } from './user-path.js';

/**
 * The hub's HTTP entry, ahead of express: a request to `/user/NAME/…` carrying an API token
 * (scripts, support tools polling servers) goes straight to the proxy once the same checks as
 * userRoute have passed: a valid token of an existing account, a well-formed path, access:servers
 * on NAME, and NAME's server running. Such a request needs nothing else express runs: no session
 * (a token never falls back to the cookie), no XSRF (token requests are exempt), and the security
 * headers come from the workflow server, which sets the same ones. Every other request, and
 * every one of these that any check refuses, goes to express unchanged, which decides and
 * answers it as before: this path only ever lets through what express would let through.
 */
export function frontDoor(ctx: HubContext, express: (req: IncomingMessage, res: ServerResponse) => void) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const target = req.url ?? '';
    if (!target.startsWith('/user/') || req.headers.authorization === undefined || hasTokenInQuery(target)) return express(req, res);
    const auth = authenticate(req, undefined, ctx.tokens, ctx.users, ctx.serviceTokens);
    // Refusals, and services (which may use the REST API only), are express's to answer.
    if (!auth.ok || !auth.caller) return express(req, res);
    const parsed = parseUserPath(target);
    if (!parsed.ok || parsed.bare) return express(req, res);
    const { caller } = auth;
    const { owner } = parsed;
    if (!accessOfCaller(ctx.permissions, caller).can('access:servers', { user: owner }) || ctx.servers.status(owner) !== 'running') {
      return express(req, res);
    }
    ctx.activity.record(caller.user);
    ctx.proxy.web(req, res, owner, identityFor(ctx, caller, owner, undefined));
  };
}

/** Whether express has taken the request in (its prototype gives requests `accepts`): requests
 * the front door passed straight to the proxy are plain node requests. */
export function isExpressRequest(req: IncomingMessage): req is Request {
  return 'accepts' in req;
}

/** A JSON answer without express, in the shape of messagePage's JSON. */
export function sendJson(res: ServerResponse, status: number, body: object): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
}
