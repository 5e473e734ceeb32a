import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { isValidUserName, NAME_RULE } from '../../config/names.js';
import type { HubContext } from '../context.js';
import { GroupError, type GroupInfo } from '../groups/group-directory.js';
import { apiError, badBody, callerOf, nameParam } from './respond.js';

const userName = z.string().refine(isValidUserName, { message: `invalid user name: ${NAME_RULE}` });
const groupName = z.string().refine(isValidUserName, { message: `invalid group name: ${NAME_RULE}` });
const userList = z.array(userName).max(10_000);
const usersBody = z.strictObject({ users: userList });
/** POST /groups/NAME: JupyterHub's optional initial members. */
const createOneBody = z.strictObject({ users: userList.default([]) });
/** POST /groups, our shape: one group with its members. */
const createNamedBody = z.strictObject({ name: groupName, users: userList.default([]) });
/** POST /groups, JupyterHub's shape: several empty groups. */
const createManyBody = z.strictObject({ groups: z.array(groupName).min(1).max(1_000) });

type NewGroup = { name: string; users: string[] };

/** Either shape of a POST /groups body, as the groups to create. */
function parseCreateBody(body: unknown): { ok: true; groups: NewGroup[]; many: boolean } | { ok: false; error: z.ZodError } {
  if (typeof body === 'object' && body !== null && 'groups' in body) {
    const parsed = createManyBody.safeParse(body);
    if (!parsed.success) return { ok: false, error: parsed.error };
    return { ok: true, groups: parsed.data.groups.map((name) => ({ name, users: [] })), many: true };
  }
  const parsed = createNamedBody.safeParse(body);
  return parsed.success ? { ok: true, groups: [parsed.data], many: false } : { ok: false, error: parsed.error };
}

function groupModel(g: GroupInfo) {
  return { kind: 'group' as const, name: g.name, users: g.users, sources: g.sources, fixed_users: g.fixedUsers };
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

  /** Creates the groups if the caller may manage every one of them; undefined after answering. */
  const create = (req: Request, res: Response, wanted: NewGroup[]): GroupInfo[] | undefined => {
    const { user } = callerOf(req);
    const refused = wanted.filter((g) => !mayManage(user, g.name)).map((g) => g.name);
    if (refused.length > 0) {
      apiError(res, 403, `creating group ${refused.join(', ')} needs the admin:groups scope for it`);
      return undefined;
    }
    try {
      return groups.create(wanted);
    } catch (err) {
      answerGroupError(res, err);
      return undefined;
    }
  };

  // Ours, `{"name": ..., "users": [...]}`, answers the group; JupyterHub's, `{"groups": [...]}`,
  // answers the list of groups it made.
  router.post('/groups', (req, res) => {
    const parsed = parseCreateBody(req.body ?? {});
    if (!parsed.ok) return badBody(res, parsed.error);
    const made = create(req, res, parsed.groups);
    if (made) res.status(201).json(parsed.many ? made.map(groupModel) : groupModel(made[0]!));
  });

  router.post('/groups/:name', (req, res) => {
    const name = nameParam(req, res, 'name', 'group');
    if (!name) return;
    const parsed = createOneBody.safeParse(req.body ?? {});
    if (!parsed.success) return badBody(res, parsed.error);
    const made = create(req, res, [{ name, users: parsed.data.users }]);
    if (made) res.status(201).json(groupModel(made[0]!));
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
