import express, { Router, type NextFunction, type Request, type Response } from 'express';
import type { HubContext } from '../context.js';
import { groupsApi } from './groups.js';
import { lockoutsApi } from './lockouts.js';
import { apiError, requireCaller } from './respond.js';
import { tokensApi } from './tokens.js';
import { usersApi } from './users.js';

const BODY_LIMIT = '64kb';

/** The REST API under /hub/api: JSON in, JSON out, JupyterHub's shapes. */
export function hubApi(ctx: HubContext): Router {
  const router = Router();
  router.use(express.json({ limit: BODY_LIMIT }));
  router.use(requireCaller);
  router.use(ctx.xsrf.csrfSynchronisedProtection);
  router.use(usersApi(ctx));
  router.use(groupsApi(ctx));
  router.use(tokensApi(ctx));
  router.use(lockoutsApi(ctx));
  router.use((req, res) => apiError(res, 404, `no such API endpoint: ${req.method} ${req.baseUrl}${req.path}`));
  router.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = err as { status?: number; type?: string; message?: string; code?: string };
    if (e.type === 'entity.parse.failed') apiError(res, 400, 'the request body is not valid JSON');
    else if (e.type === 'entity.too.large') apiError(res, 413, `the request body is larger than ${BODY_LIMIT}`);
    else if (e.code === 'EBADCSRFTOKEN') apiError(res, 403, e.message ?? 'XSRF check failed');
    else {
      ctx.internalError('hub API error', err);
      apiError(res, 500, 'internal error in the hub API');
    }
  });
  return router;
}
