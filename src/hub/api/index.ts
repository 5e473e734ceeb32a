import express, { Router, type NextFunction, type Request, type Response } from 'express';
import type { HubContext } from '../context.js';
import { accountsApi } from './accounts.js';
import { groupsApi } from './groups.js';
import { lockoutsApi } from './lockouts.js';
import { progressApi } from './progress.js';
import { accessOf, apiError, requireCaller, requireScope } from './respond.js';
import { serversApi } from './servers.js';
import { servicesApi } from './services.js';
import { tokensApi } from './tokens.js';
import { usersApi } from './users.js';

const BODY_LIMIT = '64kb';

/**
 * The JupyterHub REST API version whose behaviour this API follows. Clients (the idle culler
 * among them) read it from `GET /hub/api/` to decide which features they may use.
 */
export const JUPYTERHUB_API_VERSION = '5.3.0';

/** The REST API under /hub/api: JSON in, JSON out, JupyterHub's shapes. */
export function hubApi(ctx: HubContext): Router {
  const router = Router();
  // No credentials needed: clients learn the version before they set up authentication.
  router.get('/', (_req, res) => {
    res.json({ version: JUPYTERHUB_API_VERSION });
  });
  // Every body is read as JSON, whatever its Content-Type says (as JupyterHub reads them): a
  // body left unread because `curl -d` sent it as a form would otherwise count as no body at
  // all, and a token request whose narrowed scopes went unread would get every scope its owner has.
  router.use(express.json({ limit: BODY_LIMIT, type: () => true }));
  router.use(requireCaller);
  router.use(ctx.xsrf.csrfSynchronisedProtection);
  router.get('/info', (req, res) => {
    if (!requireScope(res, accessOf(ctx.permissions, req), ['read:hub'])) return;
    res.json({
      version: JUPYTERHUB_API_VERSION,
      python: null,
      sys_executable: process.execPath,
      node: process.version,
      authenticator: { class: 'flotilla.HtpasswdAuthenticator', version: JUPYTERHUB_API_VERSION },
      spawner: { class: 'flotilla.WorkflowServerSpawner', version: JUPYTERHUB_API_VERSION },
    });
  });
  router.use(usersApi(ctx));
  router.use(accountsApi(ctx));
  router.use(serversApi(ctx));
  router.use(progressApi(ctx));
  router.use(groupsApi(ctx));
  router.use(tokensApi(ctx));
  router.use(servicesApi(ctx));
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
