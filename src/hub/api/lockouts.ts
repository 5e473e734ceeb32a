import { Router, type NextFunction, type Request, type Response } from 'express';
import { addressKey } from '../auth/address-key.js';
import type { Lockout } from '../auth/login-limiter.js';
import type { HubContext } from '../context.js';
import type { Permissions } from '../roles/permissions.js';
import { accessOf, apiError, nameParam, requesterName } from './respond.js';

/**
 * Lockouts concern names that may not be accounts and addresses that belong to no one, which
 * no `!user=` or `!group=` filter can describe: only an unfiltered admin:users covers them.
 */
export function mayManageLockouts(permissions: Permissions, user: string): boolean {
  return permissions.holdsUnfiltered(user, 'admin:users');
}

export function lockoutModel(lockout: Lockout) {
  return { limit: lockout.limit, name: lockout.name, address: lockout.address, attempts: lockout.attempts, until: lockout.until.toISOString() };
}

/** GET /lockouts, DELETE /lockouts/NAME and DELETE /lockouts/addresses/ADDRESS: sign-in lockouts. */
export function lockoutsApi(ctx: HubContext): Router {
  const router = Router();
  const limiter = ctx.loginLimiter;

  router.use('/lockouts', (req: Request, res: Response, next: NextFunction) => {
    if (accessOf(ctx.permissions, req).holdsUnfiltered('admin:users')) next();
    else apiError(res, 403, 'sign-in lockouts need the admin:users scope without a filter');
  });

  router.get('/lockouts', (_req, res) => {
    res.json(limiter.lockouts().map(lockoutModel));
  });

  router.delete('/lockouts/addresses/:address', (req, res) => {
    const given = String(req.params.address);
    const address = addressKey(given);
    if (address) answerCleared(req, res, limiter.clearAddress(address), { address });
    else apiError(res, 400, `not an IPv4 or IPv6 address, nor an IPv6 /64 network: ${given.slice(0, 64)}`);
  });

  router.delete('/lockouts/:name', (req, res) => {
    const name = nameParam(req, res);
    if (name) answerCleared(req, res, limiter.clearName(name), { name });
  });

  const answerCleared = (req: Request, res: Response, cleared: number, what: { name: string } | { address: string }) => {
    if (cleared === 0) {
      apiError(res, 404, `no sign-in attempts are counted for ${'name' in what ? what.name : what.address}`);
      return;
    }
    ctx.logger.info({ ...what, counters: cleared, by: requesterName(req) }, 'sign-in lockout cleared');
    res.status(204).end();
  };

  return router;
}
