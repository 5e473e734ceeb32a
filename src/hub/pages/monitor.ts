import { Router } from 'express';
import type { HubContext } from '../context.js';
import { requireSession } from './home-admin.js';
import { reachableOwners } from './reachable-owners.js';
import { renderPage } from './render.js';

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
    res.set('Cache-Control', 'no-store').json({ owners: reachableOwners(ctx, req.caller) });
  });

  router.get('/hub/monitor', requireSession, (req, res) => {
    const owners = reachableOwners(ctx, req.caller!);
    renderPage(ctx, req, res, 'monitor', 200, { title: 'Monitor', owners });
  });

  return router;
}
