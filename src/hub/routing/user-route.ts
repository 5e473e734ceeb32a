import type { NextFunction, Request, Response } from 'express';
import { wantsJson } from '../auth/caller.js';
import { identityFor, type HubContext } from '../context.js';
import { messagePage, renderPage } from '../pages/render.js';
import { decideUserRequest } from './user-request.js';

/**
 * `/user/NAME/…`: checks the name, the caller, `access:servers` and XSRF (decideUserRequest), then
 * hands the request to the proxy when NAME's server runs, or, for a page visit by a holder of
 * `servers`, starts it and shows a progress page that moves on to the page asked for once it is up.
 */
export function userRoute(ctx: HubContext) {
  return (req: Request, res: Response, _next: NextFunction): void => {
    const json = wantsJson(req);
    const target = req.originalUrl;
    const decision = decideUserRequest(ctx, req.caller, target, req.method, () => ctx.xsrf.isRequestValid(req));
    switch (decision.kind) {
      case 'bad-address':
        return messagePage(ctx, req, res, 400, 'Bad address', decision.message, json);
      case 'redirect':
        return res.redirect(302, decision.location);
      case 'sign-in':
        if (json) res.status(401).json({ status: 401, message: 'authentication required: sign in, or send "Authorization: token <API token>"' });
        else res.redirect(302, `/hub/login?next=${encodeURIComponent(target)}`);
        return;
      case 'no-access':
        return messagePage(ctx, req, res, 404, 'No such server', `There is no server at /user/${decision.owner}/ that you may reach.`, json);
      case 'xsrf':
        return messagePage(ctx, req, res, 403, 'Refused', 'Missing or wrong XSRF token: send the X-XSRFToken header (the value of <meta name="_xsrf">).', json);
      case 'proxy': {
        const { owner, caller } = decision;
        const xsrf = caller.via === 'cookie' ? ctx.xsrf.generateToken(req) : undefined;
        return ctx.proxy.web(req, res, owner, identityFor(ctx, caller, owner, xsrf));
      }
      case 'not-running':
        return notRunning(ctx, req, res, decision.owner, decision.status, decision.mayStart, json);
    }
  };
}

function notRunning(ctx: HubContext, req: Request, res: Response, owner: string, status: string, mayStart: boolean, json: boolean): void {
  if (!mayStart) {
    const message = `${owner}'s server is not running, and you may not start it. Ask ${owner} or an administrator to start it.`;
    messagePage(ctx, req, res, 503, 'Server not running', message, json, { status: 'stopped' });
    return;
  }
  // Only a person opening a page starts a server. API calls and scripts, including an old tab
  // checking why its connection dropped, must not bring back a server its owner just stopped
  // (JupyterHub made the same change): they are told the state and how to start it.
  if (json || req.method !== 'GET') {
    if (status === 'starting') {
      res.status(503).json({ status: 'starting', message: `${owner}'s server is starting; try again shortly` });
    } else {
      res.status(503).json({
        status: 'stopped',
        message: `${owner}'s server is not running; start it with POST /hub/api/users/${owner}/server, or open /user/${owner}/ in a browser`,
      });
    }
    return;
  }
  if (status !== 'starting') void ctx.servers.startInBackground(owner, { pageVisit: true });
  renderPage(ctx, req, res, 'spawn', 200, { title: `Starting ${owner}'s server`, owner, next: req.originalUrl });
}
