import type { NextFunction, Request, Response } from 'express';
import { wantsJson } from '../auth/caller.js';
import { identityFor, type HubContext } from '../context.js';
import { messagePage, renderPage } from '../pages/render.js';
import { decideUserRequest } from './user-request.js';

/**
 * `/user/NAME/…`: checks the name, the caller, `access:servers` and XSRF (decideUserRequest), then
 * hands the request to the proxy when NAME's server runs, or, for a page visit by a holder of
 * `servers`, starts it. A start that is over within `spawner.slow_spawn_timeout` leads straight to
 * the page asked for (decided afresh then); a slower one shows a progress page that moves on to it
 * once the server is up.
 */
export function userRoute(ctx: HubContext) {
  return (req: Request, res: Response, _next: NextFunction): void => route(ctx, req, res, true);
}

function route(ctx: HubContext, req: Request, res: Response, mayWait: boolean): void {
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
    case 'not-running': {
      const again = mayWait ? () => route(ctx, req, res, false) : undefined;
      return notRunning(ctx, req, res, decision.owner, decision.status, decision.mayStart, json, again);
    }
  }
}

/**
 * `again`: routes the request anew once the start is over, if it is over within the wait; absent
 * when this is that second look, the start then being slow or failed: the progress page follows
 * it, or says why it failed, and a failed start is not tried twice for one visit.
 */
function notRunning(ctx: HubContext, req: Request, res: Response, owner: string, status: string, mayStart: boolean, json: boolean, again: (() => void) | undefined): void {
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
  const showProgress = () => renderPage(ctx, req, res, 'spawn', 200, { title: `Starting ${owner}'s server`, owner, next: req.originalUrl });
  if (!again) return showProgress();
  // Joins a start under way, so that this visit too is told when it is over.
  const started = ctx.servers.startInBackground(owner, { pageVisit: true });
  const waitMs = ctx.config.JupyterHub.spawner.slow_spawn_timeout * 1000;
  if (waitMs === 0) return showProgress();
  void overWithin(started, waitMs).then((over) => {
    // A visitor who gave up meanwhile is owed nothing.
    if (res.headersSent || req.socket.destroyed) return;
    try {
      if (over) again();
      else showProgress();
    } catch (err) {
      ctx.logger.error({ err, owner }, 'a page visit that waited for a start could not be answered');
      if (!res.headersSent) res.status(500).end();
    }
  });
}

/** Whether `promise` settles within `ms`. */
function overWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  return Promise.race([promise.then(() => true), late]).finally(() => clearTimeout(timer));
}
