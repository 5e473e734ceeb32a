import { Router, type Request, type Response } from 'express';
import { isValidUserName } from '../../config/names.js';
import type { HubContext } from '../context.js';
import { visibleUser } from './models.js';
import { accessOf, apiError, nameParam, requireScope } from './respond.js';

/** How long a start or stop may take before the answer is 202 rather than 201 / 204 (JupyterHub's slow_spawn_timeout and slow_stop_timeout). */
const SLOW_MS = 10_000;

function within<T>(promise: Promise<T>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * The server name of `/servers/NAME`: named servers are off (one server per owner), so only the
 * default server "" is known; undefined after answering as JupyterHub does then.
 */
function defaultServerOnly(req: Request, res: Response): boolean {
  const server = req.params.server;
  if (server === undefined || server === '') return true;
  apiError(res, 400, 'Named servers are not enabled.');
  return false;
}

/** POST|DELETE /users/NAME/server and /users/NAME/servers/SERVER, with JupyterHub's statuses. */
export function serversApi(ctx: HubContext): Router {
  const router = Router();
  const { permissions: perms } = ctx;

  const start = async (req: Request, res: Response) => {
    const name = nameParam(req, res);
    if (!name || !requireScope(res, accessOf(perms, req), ['start:servers'], { user: name })) return;
    if (!defaultServerOnly(req, res)) return;
    const status = ctx.servers.status(name);
    if (status === 'starting') {
      res.status(202).json(visibleUser(ctx, accessOf(perms, req), name) ?? {});
      return;
    }
    if (status === 'stopping') return apiError(res, 400, `${name}'s server is pending stop`);
    if (status === 'running') return apiError(res, 400, `${name}'s server is already running`);
    const done = await within(ctx.servers.startInBackground(name), SLOW_MS);
    const failure = ctx.servers.lastFailure(name);
    if (done && failure !== undefined) return apiError(res, 500, `${name}'s server failed to start: ${failure}`);
    res.status(ctx.servers.status(name) === 'running' ? 201 : 202).json(visibleUser(ctx, accessOf(perms, req), name) ?? {});
  };

  /** NAME when it has no account any more but its server still runs, and the caller may stop it. */
  const departedServer = (req: Request): string | undefined => {
    const name = req.params.name;
    if (!isValidUserName(name) || ctx.users.exists(name) || ctx.servers.status(name) === 'stopped') return undefined;
    return accessOf(perms, req).canForDeparted('delete:servers', name) ? name : undefined;
  };

  const stop = async (req: Request, res: Response) => {
    const departed = departedServer(req);
    const name = departed ?? nameParam(req, res);
    if (!name || (!departed && !requireScope(res, accessOf(perms, req), ['delete:servers'], { user: name }))) return;
    if (!defaultServerOnly(req, res)) return;
    const body: unknown = req.body;
    if (typeof body === 'object' && body !== null && (body as { remove?: unknown }).remove === true) {
      return apiError(res, 400, 'Cannot delete the default server');
    }
    // The server's last activity outlives it, in the account's record (the user model's last_activity).
    const lastActivity = ctx.servers.lastActivity(name);
    if (lastActivity !== undefined) ctx.activity.record(name, lastActivity);
    // A stop under way is joined: 204 if it ends within the wait, as for a stop begun here.
    const done = await within(ctx.servers.stop(name), SLOW_MS);
    res.status(done ? 204 : 202).end();
  };

  // `/servers/` with an empty name is the default server, as in JupyterHub.
  router.post(['/users/:name/server', '/users/:name/servers/', '/users/:name/servers/:server'], start);
  router.delete(['/users/:name/server', '/users/:name/servers/', '/users/:name/servers/:server'], stop);
  return router;
}
