import type { NextFunction, Request, Response } from 'express';
import { wantsJson } from '../auth/caller.js';
import { identityFor, type HubContext } from '../context.js';
import { accessOfCaller } from '../roles/request-access.js';
import { messagePage, renderPage } from '../pages/render.js';
import { parseUserPath } from './user-path.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * `/user/NAME/…`: checks the name, the caller, `access:servers` and XSRF, then hands the request
 * to the proxy when NAME's server runs, or, for a page visit by a holder of `servers`, starts it
 * and shows a progress page that moves on to the page asked for once it is up.
 */
export function userRoute(ctx: HubContext) {
  return (req: Request, res: Response, _next: NextFunction): void => {
    const json = wantsJson(req);
    const target = req.originalUrl;
    const parsed = parseUserPath(target);
    if (!parsed.ok) {
      messagePage(ctx, req, res, 400, 'Bad address', parsed.message, json);
      return;
    }
    const { owner } = parsed;
    if (parsed.bare) {
      const q = target.indexOf('?');
      res.redirect(302, `/user/${owner}/${q === -1 ? '' : target.slice(q)}`);
      return;
    }
    const caller = req.caller;
    if (!caller) {
      if (json) res.status(401).json({ status: 401, message: 'authentication required: sign in, or send "Authorization: token <API token>"' });
      else res.redirect(302, `/hub/login?next=${encodeURIComponent(target)}`);
      return;
    }
    if (!accessOfCaller(ctx.permissions, caller).can('access:servers', { user: owner })) {
      messagePage(ctx, req, res, 404, 'No such server', `There is no server at /user/${owner}/ that you may reach.`, json);
      return;
    }
    if (caller.via === 'cookie' && !SAFE_METHODS.has(req.method) && !ctx.xsrf.isRequestValid(req)) {
      messagePage(ctx, req, res, 403, 'Refused', 'Missing or wrong XSRF token: send the X-XSRFToken header (the value of <meta name="_xsrf">).', json);
      return;
    }
    const status = ctx.servers.status(owner);
    if (status === 'running') {
      const xsrf = caller.via === 'cookie' ? ctx.xsrf.generateToken(req) : undefined;
      ctx.proxy.web(req, res, owner, identityFor(ctx, caller, owner, xsrf));
      return;
    }
    const mayStart = accessOfCaller(ctx.permissions, caller).can('start:servers', { user: owner });
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
    if (status !== 'starting') void ctx.servers.startInBackground(owner);
    renderPage(ctx, req, res, 'spawn', 200, { title: `Starting ${owner}'s server`, owner, next: target });
  };
}
