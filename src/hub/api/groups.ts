import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { isValidUserName, NAME_RULE } from '../../config/names.js';
import type { HubContext } from '../context.js';
import { GroupError, type GroupInfo } from '../groups/group-directory.js';
import { apiError, callerOf, nameParam } from './respond.js';

const userName = z.string().refine(isValidUserName, { message: `invalid user name: ${NAME_RULE}` });
const usersBody = z.strictObject({ users: z.array(userName).max(10_000) });
const createBody = z.strictObject({
  name: z.string().refine(isValidUserName, { message: `invalid group name: ${NAME_RULE}` }),
  users: z.array(userName).max(10_000).default([]),
});

function groupModel(g: GroupInfo) {
  return { kind: 'group' as const, name: g.name, users: g.users, sources: g.sources, fixed_users: g.fixedUsers };
}

/** A readable 400 from a zod failure: each issue as `field: message`. */
function badBody(res: Response, error: z.ZodError): void {
  const detail = error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'body'}: ${i.message}`).join('; ');
  apiError(res, 400, `invalid request body: ${detail}`);
}

function answerGroupError(res: Response, err: unknown): void {
  if (err instanceof GroupError) apiError(res, err.status, err.message);
  else throw err;
}

/** Groups API; every route needs admin:groups for the group concerned. */
export function groupsApi(ctx: HubContext): Router {
  const router = Router();
  const { permissions: perms, groups } = ctx;
  const mayManage = (user: string, group: string) => perms.can(user, 'admin:groups', { group });

  router.get('/groups', (req, res) => {
    const { user } = callerOf(req);
    if (!perms.holdsAny(user, 'admin:groups')) {
      apiError(res, 403, 'listing groups needs the admin:groups scope');
      return;
    }
    res.json(groups.list().filter((g) => mayManage(user, g.name)).map(groupModel));
  });

  router.post('/groups', (req, res) => {
    const { user } = callerOf(req);
    const parsed = createBody.safeParse(req.body ?? {});
    if (!parsed.success) return badBody(res, parsed.error);
    if (!mayManage(user, parsed.data.name)) {
      apiError(res, 403, `creating group ${parsed.data.name} needs the admin:groups scope for it`);
      return;
    }
    try {
      res.status(201).json(groupModel(groups.create(parsed.data.name, parsed.data.users)));
    } catch (err) {
      answerGroupError(res, err);
    }
  });

  const visibleGroup = (req: Request, res: Response): string | undefined => {
    const { user } = callerOf(req);
    const name = nameParam(req, res, 'name', 'group');
    if (!name) return undefined;
    if (!groups.get(name) || !mayManage(user, name)) {
      apiError(res, 404, `no such group, or not one you may manage: ${name}`);
      return undefined;
    }
    return name;
  };

  router.get('/groups/:name', (req, res) => {
    const name = visibleGroup(req, res);
    if (name) res.json(groupModel(groups.get(name)!));
  });

  router.delete('/groups/:name', (req, res) => {
    const name = visibleGroup(req, res);
    if (!name) return;
    try {
      groups.delete(name);
      res.status(204).end();
    } catch (err) {
      answerGroupError(res, err);
    }
  });

  for (const method of ['post', 'delete'] as const) {
    router[method]('/groups/:name/users', (req, res) => {
      const name = visibleGroup(req, res);
      if (!name) return;
      const parsed = usersBody.safeParse(req.body ?? {});
      if (!parsed.success) return badBody(res, parsed.error);
      try {
        const g = method === 'post' ? groups.addMembers(name, parsed.data.users) : groups.removeMembers(name, parsed.data.users);
        res.json(groupModel(g));
      } catch (err) {
        answerGroupError(res, err);
      }
    });
  }

  return router;
}
