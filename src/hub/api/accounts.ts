import { Router } from 'express';
import * as z from 'zod';
import { isValidUserName, NAME_RULE } from '../../config/names.js';
import { AccountExistsError, HtpasswdError } from '../../htpasswd/index.js';
import type { HubContext } from '../context.js';
import { accessOf, apiError, badBody, nameParam, requesterName, requireScope } from './respond.js';

const createBody = z.strictObject({
  name: z.string().refine(isValidUserName, { message: `invalid user name: ${NAME_RULE}` }),
  password: z.string().min(1, 'the password is empty'),
});

/**
 * Flotilla's own routes for sign-in accounts, which are entries of the htpasswd file (JupyterHub's
 * `POST /users/NAME` has no password to give, so it cannot make one):
 * POST /accounts {name, password} adds an account; DELETE /accounts/NAME removes it and ends its
 * sessions, API tokens and server.
 * Adding needs admin:users unfiltered (as JupyterHub's POST /users), removing admin:users on the
 * user; the scope is checked before anything else, so that a caller without it learns nothing
 * from the answer. The hub API's XSRF check guards cookie callers.
 */
export function accountsApi(ctx: HubContext): Router {
  const router = Router();
  const { permissions: perms } = ctx;

  router.post('/accounts', async (req, res) => {
    // A name with no account matches no scope filter: making one needs admin:users on every user.
    if (!requireScope(res, accessOf(perms, req), ['admin:users'])) return;
    const parsed = createBody.safeParse(req.body ?? {});
    if (!parsed.success) return badBody(res, parsed.error);
    const { name, password } = parsed.data;
    try {
      await ctx.users.addAccount(name, password);
    } catch (err) {
      if (!(err instanceof HtpasswdError)) throw err;
      apiError(res, err instanceof AccountExistsError ? 409 : 400, err.message);
      return;
    }
    ctx.logger.info({ user: name, by: requesterName(req) }, 'account added to the htpasswd file');
    res.status(201).json({ name });
  });

  router.delete('/accounts/:name', async (req, res) => {
    const name = nameParam(req, res);
    if (!name) return;
    // An entry that signs no one in (blocked, not allowed) matches no group filter: only a grant
    // for everyone or naming it may remove it.
    const access = accessOf(perms, req);
    const departed = !ctx.users.exists(name) && access.canForDeparted('admin:users', name);
    if (!departed && !requireScope(res, access, ['admin:users'], { user: name })) return;
    if (req.caller?.user === name) {
      apiError(res, 400, 'cannot remove your own account: another administrator must');
      return;
    }
    let removed: boolean;
    try {
      removed = ctx.users.removeAccount(name);
    } catch (err) {
      if (!(err instanceof HtpasswdError)) throw err;
      apiError(res, 400, err.message);
      return;
    }
    if (!removed) {
      apiError(res, 404, `no account ${name} in the htpasswd file`);
      return;
    }
    // Here, not by the account list's change: that clears nothing while the file has a bad line.
    await ctx.clearAccount(name);
    ctx.logger.info({ user: name, by: requesterName(req) }, 'account removed from the htpasswd file');
    res.status(204).end();
  });

  return router;
}
