import type { IncomingMessage, ServerResponse } from 'node:http';
import { authenticate, hasTokenInQuery } from '../auth/caller.js';
import type { Identity } from '../../identity/proof.js';
import { identityFor, type HubContext } from '../context.js';
import { setSecurityHeaders, type HeaderList } from '../../util/security-headers.js';
import { sendJson } from '../../util/send-json.js';
import { decideUserRequest } from './user-request.js';

/** What the hub says when a running server does not answer (the express route's page says it too). */
export function notAnswering(owner: string): string {
  return `The workflow server of ${owner} is not answering right now. It may have stopped, or be starting or restarting: try again in a few seconds, or start it from the home page.`;
}

/**
 * The hub's HTTP entry, ahead of express: a request to `/user/NAME/…` carrying an API token
 * (scripts, support tools polling servers) goes straight to the proxy when decideUserRequest, the
 * same decision the express route makes, says to proxy it. Such a request needs nothing else
 * express runs: no session (a token never falls back to the cookie) and no XSRF (token requests
 * are exempt). Every other request, every one the decision refuses, and every one whose checks
 * throw goes to express unchanged, which decides, answers and reports it as before.
 */
export function frontDoor(ctx: HubContext, headers: HeaderList, express: (req: IncomingMessage, res: ServerResponse) => void) {
  const unavailable = (_req: IncomingMessage, res: ServerResponse, owner: string) => sendJson(res, 503, { status: 503, message: notAnswering(owner) });
  return (req: IncomingMessage, res: ServerResponse): void => {
    const target = req.url ?? '';
    if (!target.startsWith('/user/') || req.headers.authorization === undefined || hasTokenInQuery(target)) return express(req, res);
    let identity: Identity;
    let owner: string;
    try {
      const auth = authenticate(req, undefined, ctx.tokens, ctx.users, ctx.serviceTokens);
      // Refusals, and services (which may use the REST API only), are express's to answer.
      if (!auth.ok || !auth.caller) return express(req, res);
      const decision = decideUserRequest(ctx, auth.caller, target, req.method ?? 'GET', () => false);
      if (decision.kind !== 'proxy') return express(req, res);
      owner = decision.owner;
      ctx.activity.record(decision.caller.user);
      identity = identityFor(ctx, decision.caller, owner, undefined);
    } catch {
      // A check that throws (the token store on a locked or full database) is express's to
      // answer: it runs them again and answers 500 through its error handler, never proxying.
      return express(req, res);
    }
    // Answers the hub makes itself (a refusal, the server not answering) carry the same headers
    // as every other; the server's own answer sets them too.
    setSecurityHeaders(res, headers);
    try {
      ctx.proxy.web(req, res, owner, identity, unavailable);
    } catch (err) {
      ctx.internalError(`hub error on /user/${owner}/`, err);
      if (!res.headersSent) sendJson(res, 500, { status: 500, message: 'Something went wrong in the hub.' });
      else res.destroy();
    }
  };
}
