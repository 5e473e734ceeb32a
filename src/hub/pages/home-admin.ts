import { Router, type NextFunction, type Request, type Response } from 'express';
import { chooseIsolation, SHARED_MODE_WARNING } from '../../config/index.js';
import { lockoutModel, mayManageLockouts } from '../api/lockouts.js';
import { NAME_HTML_PATTERN, NAME_RULE } from '../../config/names.js';
import { formatScope } from '../../config/scopes.js';
import { userModel, type HubContext } from '../context.js';
import type { Access } from '../roles/permissions.js';
import { reachableOwners } from './reachable-owners.js';
import { mayAdminister, messagePage, renderPage } from './render.js';

/** Pages for signed-in people: others go to the sign-in form and come back. */
export function requireSession(req: Request, res: Response, next: NextFunction): void {
  if (!req.caller) {
    res.redirect(302, `/hub/login?next=${encodeURIComponent(req.originalUrl)}`);
    return;
  }
  next();
}

/** GET /hub/home, GET /hub/admin and the scripts of hub pages. */
/**
 * The scopes of a read-only monitoring token: the servers the user may reach now, and inside
 * them nothing but `read` (the workflow servers apply custom:workflows:read as a ceiling).
 */
export function monitorTokenScopes(access: Access): string[] {
  return [...access.grants('access:servers').map(formatScope).sort(), 'custom:workflows:read'];
}

export function homeAdminPages(ctx: HubContext): Router {
  const router = Router();
  const p = ctx.permissions;

  router.get('/hub/home', requireSession, (req, res) => {
    const user = req.caller!.user;
    const reachable = reachableOwners(ctx, req.caller!).filter((o) => o.name !== user);
    renderPage(ctx, req, res, 'home', 200, {
      title: 'Home',
      me: userModel(ctx, user),
      mayAccessOwn: p.can(user, 'access:servers', { user }),
      mayStartOwn: p.can(user, 'start:servers', { user }),
      mayTokens: p.can(user, 'tokens', { user }),
      monitorScopes: monitorTokenScopes(p.forUser(user)),
      reachable,
      tokens: ctx.tokens.list(user),
    });
  });

  router.get('/hub/admin', requireSession, (req, res) => {
    const user = req.caller!.user;
    if (!mayAdminister(ctx, user)) {
      messagePage(ctx, req, res, 403, 'Not allowed', 'The admin page needs admin:users, admin:servers or admin:groups.', false);
      return;
    }
    const users = ctx.users
      .list()
      .filter((name) => p.can(user, 'list:users', { user: name }))
      .map((name) => ({ ...userModel(ctx, name), mayStart: p.can(user, 'start:servers', { user: name }), mayRemove: p.can(user, 'admin:users', { user: name }) }));
    const groups = p.holdsAny(user, 'admin:groups') ? ctx.groups.list().filter((g) => p.can(user, 'admin:groups', { group: g.name })) : null;
    renderPage(ctx, req, res, 'admin', 200, {
      title: 'Admin',
      users,
      groups,
      mayCreateGroups: p.holdsAny(user, 'admin:groups'),
      // As POST /hub/api/accounts: a new name matches no filter.
      mayAddAccounts: p.holdsUnfiltered(user, 'admin:users'),
      namePattern: NAME_HTML_PATTERN,
      nameRule: NAME_RULE,
      isolationWarning: chooseIsolation(ctx.config.JupyterHub.spawner, process.getuid?.()).mode === 'shared' ? SHARED_MODE_WARNING : null,
      lockouts: mayManageLockouts(p, user) ? ctx.loginLimiter.lockouts().map(lockoutModel) : null,
    });
  });

  return router;
}
