import { Router } from 'express';
import type { ServerStatus } from '../../spawner/index.js';
import type { HubContext } from '../context.js';
import { requireSession } from './home-admin.js';
import { renderPage } from './render.js';

export interface MonitoredOwner {
  name: string;
  status: ServerStatus;
  /** The caller holds `servers` for this owner: the monitor offers a Start button. */
  mayStart: boolean;
}

/**
 * Every owner whose server `user` may reach (access:servers, the same rule as the home page and
 * the proxy), the user's own server included. Whether they may *read* workflows there is the
 * owner's server's decision; the monitor learns it when the socket is accepted or refused.
 */
export function monitoredOwners(ctx: HubContext, user: string): MonitoredOwner[] {
  const p = ctx.permissions;
  return ctx.users
    .list()
    .filter((name) => p.can(user, 'access:servers', { user: name }))
    .map((name) => ({ name, status: ctx.servers.status(name), mayStart: p.can(user, 'servers', { user: name }) }));
}

/**
 * GET /hub/monitor: one live table of workflows across owners (the page opens one subscription
 * per owner through the proxy). GET /hub/monitor/owners: the same owner list as JSON, which the
 * page polls for servers starting and stopping and which scripts use to know whom to watch.
 */
export function monitorPages(ctx: HubContext): Router {
  const router = Router();

  router.get('/hub/monitor/owners', (req, res) => {
    if (!req.caller) {
      res.status(401).json({ status: 401, message: 'authentication required: sign in, or send "Authorization: token <API token>"' });
      return;
    }
    res.set('Cache-Control', 'no-store').json({ owners: monitoredOwners(ctx, req.caller.user) });
  });

  router.get('/hub/monitor', requireSession, (req, res) => {
    const owners = monitoredOwners(ctx, req.caller!.user);
    renderPage(ctx, req, res, 'monitor', 200, { title: 'Monitor', owners });
  });

  return router;
}
