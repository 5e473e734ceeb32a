import { Router, type Request, type Response } from 'express';
import * as z from 'zod';
import { ScopeError, type Scope } from '../../config/scopes.js';
import type { HubContext } from '../context.js';
import { WORKFLOW_SCOPES } from '../roles/permissions.js';
import { tokenModel } from './models.js';
import { accessOf, apiError, badBody, nameParam, requesterName, requireScope } from './respond.js';

const TEN_YEARS_S = 10 * 365 * 86_400;
const scopeList = z.array(z.string().max(200)).max(200);
const createBody = z.strictObject({
  note: z.string().max(200).optional(),
  // JupyterHub: omitted, null or 0 is no expiry.
  expires_in: z.union([z.number().int().nonnegative().max(TEN_YEARS_S), z.null()]).optional(),
  scopes: scopeList.nullable().optional(),
  roles: scopeList.nullable().optional(),
});

/** GET|POST /users/NAME/tokens, GET|DELETE /users/NAME/tokens/ID (read:tokens to read, tokens to write). */
export function tokensApi(ctx: HubContext): Router {
  const router = Router();
  const { permissions: perms } = ctx;

  const owner = (req: Request, res: Response, scope: Scope) => {
    const name = nameParam(req, res);
    return name && requireScope(res, accessOf(perms, req), [scope], { user: name }) ? name : undefined;
  };

  router.get('/users/:name/tokens', (req, res) => {
    const name = owner(req, res, 'read:tokens');
    if (name) res.json({ api_tokens: ctx.tokens.list(name).map((t) => tokenModel(ctx, t)) });
  });

  /** The scopes a token is to have, from `scopes` and `roles` (roles resolve to their scopes now). */
  const requestedScopes = (user: string, body: z.infer<typeof createBody>): { scopes: string[] | undefined } | { error: string; status: number } => {
    if (body.scopes == null && body.roles == null) return { scopes: undefined };
    const scopes = [...(body.scopes ?? [])];
    for (const role of body.roles ?? []) {
      const found = ctx.config.JupyterHub.load_roles.find((r) => r.name === role);
      if (role === 'token') scopes.push('inherit');
      else if (role === 'user') scopes.push(...(found?.scopes ?? ['self']));
      else if (!found && role !== 'admin') return { status: 400, error: `no role named ${JSON.stringify(role)}` };
      else if (!perms.rolesOf(user).includes(role)) return { status: 400, error: `${user} does not hold the role ${JSON.stringify(role)}` };
      else if (role === 'admin') scopes.push('inherit');
      else scopes.push(...found!.scopes);
    }
    return { scopes };
  };

  router.post('/users/:name/tokens', (req, res) => {
    const name = nameParam(req, res);
    if (!name) return;
    // JupyterHub answers 403 here whether the user is unknown or out of reach.
    if (!accessOf(perms, req).can('tokens', { user: name })) {
      return apiError(res, 403, `User ${name} not found or no permissions to generate tokens`);
    }
    const parsed = createBody.safeParse(req.body ?? {});
    if (!parsed.success) return badBody(res, parsed.error);
    const wanted = requestedScopes(name, parsed.data);
    if ('error' in wanted) return apiError(res, wanted.status, wanted.error);
    // A scoped token or a service hands on only what it holds itself (as JupyterHub checks the
    // requester's scopes): no `inherit`, nothing beyond its scopes, and its workflow ceiling kept.
    const requester = accessOf(perms, req);
    const via = req.caller?.token;
    const limited = req.service !== undefined || (via?.scopes !== undefined && !via.scopes.includes('inherit'));
    if (limited) {
      if (!wanted.scopes || wanted.scopes.includes('inherit')) {
        return apiError(res, 403, 'A token with limited scopes, or a service, may create only tokens with named scopes that it holds itself');
      }
      const ceiling = WORKFLOW_SCOPES.filter((s) => requester.holdsAny(s));
      if (ceiling.length > 0 && !wanted.scopes.some((s) => s.startsWith('custom:workflows:'))) {
        return apiError(res, 403, `The requesting token is limited to ${ceiling.join(', ')} inside workflow servers; the new token must name such a scope too`);
      }
    }
    if (wanted.scopes) {
      try {
        const excess = perms.excessScopes({ kind: 'user', name }, wanted.scopes, limited ? requester : undefined);
        if (excess.length > 0) return apiError(res, 400, `Not assigning requested scopes ${excess.join(',')} not held by User ${name}${limited ? ' and the requester' : ''}`);
      } catch (err) {
        if (err instanceof ScopeError) return apiError(res, 400, err.message);
        throw err;
      }
    }
    const by = requesterName(req);
    const { token, model } = ctx.tokens.create(name, {
      note: parsed.data.note || (by === name ? 'Requested via api' : `Requested via api by ${by}`),
      ...(parsed.data.expires_in ? { expiresInSeconds: parsed.data.expires_in } : {}),
      ...(wanted.scopes ? { scopes: wanted.scopes } : {}),
    });
    ctx.logger.info({ user: name, id: model.id, scopes: wanted.scopes ?? 'inherit', by }, 'API token created');
    res.status(201).json({ ...tokenModel(ctx, model), token });
  });

  router.get('/users/:name/tokens/:id', (req, res) => {
    const name = owner(req, res, 'read:tokens');
    if (!name) return;
    const model = ctx.tokens.get(name, String(req.params.id));
    if (model) res.json(tokenModel(ctx, model));
    else apiError(res, 404, `no such token: ${String(req.params.id).slice(0, 40)}`);
  });

  router.delete('/users/:name/tokens/:id', (req, res) => {
    const name = owner(req, res, 'tokens');
    if (!name) return;
    if (ctx.tokens.revoke(name, String(req.params.id))) {
      ctx.logger.info({ user: name, id: req.params.id, by: requesterName(req) }, 'API token revoked');
      res.status(204).end();
    } else {
      apiError(res, 404, `no such token: ${String(req.params.id).slice(0, 40)}`);
    }
  });

  return router;
}
