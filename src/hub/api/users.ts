import { Router, type Request, type Response } from 'express';
import { isValidUserName } from '../../config/names.js';
import type { HubContext } from '../context.js';
import { userModel } from '../context.js';
import { apiError, callerOf, nameParam, noSuchUser } from './respond.js';

/** GET /user, GET /users[/NAME], POST|DELETE /users/NAME/server. */
export function usersApi(ctx: HubContext): Router {
  const router = Router();
  const { permissions: perms } = ctx;

  router.get('/user', (req, res) => {
    const { user } = callerOf(req);
    res.json({ ...userModel(ctx, user), scopes: perms.scopeNames(user) });
  });

  router.get('/users', (req, res) => {
    const { user } = callerOf(req);
    if (!perms.holdsAny(user, 'list:users')) {
      apiError(res, 403, 'listing users needs the list:users scope');
      return;
    }
    const visible = ctx.users.list().filter((name) => perms.can(user, 'list:users', { user: name }));
    res.json(visible.map((name) => userModel(ctx, name)));
  });

  router.get('/users/:name', (req, res) => {
    const { user } = callerOf(req);
    const name = nameParam(req, res);
    if (!name) return;
    if (perms.can(user, 'read:users', { user: name }) || perms.can(user, 'read:servers', { user: name })) {
      res.json(userModel(ctx, name));
    } else {
      noSuchUser(res, name);
    }
  });

  /** NAME when the caller holds `servers` for it; else answers 403 (visible user) or 404. */
  const serverOwner = (req: Request, res: Response, verb: string): string | undefined => {
    const { user } = callerOf(req);
    const name = nameParam(req, res);
    if (!name) return undefined;
    if (perms.can(user, 'servers', { user: name })) return name;
    if (perms.can(user, 'read:users', { user: name }) || perms.can(user, 'read:servers', { user: name })) apiError(res, 403, `you may not ${verb} ${name}'s server (needs the servers scope)`);
    else noSuchUser(res, name);
    return undefined;
  };

  router.post('/users/:name/server', (req, res) => {
    const name = serverOwner(req, res, 'start');
    if (!name) return;
    if (ctx.servers.status(name) === 'running') {
      apiError(res, 400, `${name}'s server is already running`);
      return;
    }
    ctx.servers.startInBackground(name);
    res.status(202).json(userModel(ctx, name));
  });

  /** NAME when it has no account any more but its server still runs, and the caller may stop it. */
  const departedServer = (req: Request): string | undefined => {
    const name = req.params.name;
    if (!isValidUserName(name) || ctx.users.exists(name) || ctx.servers.status(name) === 'stopped') return undefined;
    return perms.canForDeparted(callerOf(req).user, 'servers', name) ? name : undefined;
  };

  router.delete('/users/:name/server', async (req, res) => {
    const name = departedServer(req) ?? serverOwner(req, res, 'stop');
    if (!name) return;
    await ctx.servers.stop(name);
    res.status(204).end();
  });

  return router;
}
