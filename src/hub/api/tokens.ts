import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { HubContext } from '../context.js';
import { apiError, badBody, callerOf, nameParam, noSuchUser } from './respond.js';

const TEN_YEARS_S = 10 * 365 * 86_400;
const createBody = z.strictObject({
  note: z.string().max(200).optional(),
  expires_in: z.number().int().positive().max(TEN_YEARS_S).optional(),
});

/** GET|POST /users/NAME/tokens, GET|DELETE /users/NAME/tokens/ID: needs the tokens scope for NAME. */
export function tokensApi(ctx: HubContext): Router {
  const router = Router();

  const owner = (req: Request, res: Response) => {
    const { user } = callerOf(req);
    const name = nameParam(req, res);
    if (!name) return undefined;
    if (!ctx.permissions.can(user, 'tokens', { user: name })) {
      noSuchUser(res, name);
      return undefined;
    }
    return name;
  };

  router.get('/users/:name/tokens', (req, res) => {
    const name = owner(req, res);
    if (name) res.json({ api_tokens: ctx.tokens.list(name) });
  });

  router.post('/users/:name/tokens', (req, res) => {
    const name = owner(req, res);
    if (!name) return;
    const parsed = createBody.safeParse(req.body ?? {});
    if (!parsed.success) return badBody(res, parsed.error);
    const { token, model } = ctx.tokens.create(name, {
      note: parsed.data.note,
      expiresInSeconds: parsed.data.expires_in,
    });
    ctx.logger.info({ user: name, id: model.id, by: callerOf(req).user }, 'API token created');
    res.status(201).json({ ...model, token });
  });

  router.get('/users/:name/tokens/:id', (req, res) => {
    const name = owner(req, res);
    if (!name) return;
    const model = ctx.tokens.get(name, String(req.params.id));
    if (model) res.json(model);
    else apiError(res, 404, `no such token: ${String(req.params.id).slice(0, 40)}`);
  });

  router.delete('/users/:name/tokens/:id', (req, res) => {
    const name = owner(req, res);
    if (!name) return;
    if (ctx.tokens.revoke(name, String(req.params.id))) {
      ctx.logger.info({ user: name, id: req.params.id, by: callerOf(req).user }, 'API token revoked');
      res.status(204).end();
    } else {
      apiError(res, 404, `no such token: ${String(req.params.id).slice(0, 40)}`);
    }
  });

  return router;
}
