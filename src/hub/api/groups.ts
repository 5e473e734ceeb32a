import { Router, type Request, type Response } from 'express';
import * as z from 'zod';
import { isValidUserName, NAME_RULE } from '../../config/names.js';
import type { HubContext } from '../context.js';
import { GroupError } from '../groups/group-directory.js';
import type { Scope } from '../../config/scopes.js';
import { groupModel, visibleGroup } from './models.js';
import { answeringBadQuery, pagination, paginated } from './query.js';
import { accessOf, apiError, badBody, nameParam, requesterName, requireListScope, requireScope } from './respond.js';

const userName = z.string().refine(isValidUserName, { message: `invalid user name: ${NAME_RULE}` });
const groupName = z.string().refine(isValidUserName, { message: `invalid group name: ${NAME_RULE}` });
const userList = z.array(userName).max(10_000);
const usersBody = z.strictObject({ users: userList });
/** POST /groups/NAME: JupyterHub's optional initial members. */
const createOneBody = z.strictObject({ users: userList.default([]) });
/** POST /groups, our shape: one group with its members. */
const createNamedBody = z.strictObject({ name: groupName, users: userList.default([]) });
/** POST /groups, JupyterHub's shape: several groups, each with the same members (none by default). */
const createManyBody = z.strictObject({ groups: z.array(groupName).min(1).max(1_000), users: userList.default([]) });

type NewGroup = { name: string; users: string[] };

/** Either shape of a POST /groups body, as the groups to create. */
function parseCreateBody(body: unknown): { ok: true; groups: NewGroup[]; many: boolean } | { ok: false; error: z.ZodError } {
  if (typeof body === 'object' && body !== null && 'groups' in body) {
    const parsed = createManyBody.safeParse(body);
    if (!parsed.success) return { ok: false, error: parsed.error };
    const { users } = parsed.data;
    return { ok: true, groups: parsed.data.groups.map((name) => ({ name, users })), many: true };
  }
  const parsed = createNamedBody.safeParse(body);
  return parsed.success ? { ok: true, groups: [parsed.data], many: false } : { ok: false, error: parsed.error };
}

const propertiesBody = z.record(z.string(), z.unknown(), { error: 'expected the properties as a JSON object' });
/** Properties are stored whole in hub.sqlite: kept small. */
const MAX_PROPERTIES_BYTES = 16_384;

/** Every scope that reveals part of a group model. */
const GROUP_READ_SCOPES: readonly Scope[] = ['read:groups', 'read:groups:name', 'read:roles:groups'];

function answerGroupError(res: Response, err: unknown): void {
  if (err instanceof GroupError) apiError(res, err.status, err.message);
  else throw err;
}

/**
 * Groups API, with JupyterHub's scopes: list:groups to list, read:groups to read, admin:groups
 * to create, delete:groups to delete, groups to change members and properties.
 */
export function groupsApi(ctx: HubContext): Router {
  const router = Router();
  const { permissions: perms, groups } = ctx;

  router.get(
    '/groups',
    answeringBadQuery((req, res) => {
      const access = accessOf(perms, req);
      if (!requireListScope(res, access, 'list:groups')) return;
      const page = pagination(req);
      const listed = groups.list().filter((g) => access.can('list:groups', { group: g.name }));
      res.json(paginated(req, listed, page, (g) => visibleGroup(ctx, access, g) ?? { kind: 'group' as const, name: g.name }));
    }),
  );

  /** Creates the groups if the caller may manage every one of them; undefined after answering. */
  const create = (req: Request, res: Response, wanted: NewGroup[]) => {
    const access = accessOf(perms, req);
    const refused = wanted.filter((g) => !access.can('admin:groups', { group: g.name })).map((g) => g.name);
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
    if (made) res.status(201).json(parsed.many ? made.map((g) => groupModel(ctx, g)) : groupModel(ctx, made[0]!));
  });

  router.post('/groups/:name', (req, res) => {
    const name = nameParam(req, res, 'name', 'group');
    if (!name) return;
    const parsed = createOneBody.safeParse(req.body ?? {});
    if (!parsed.success) return badBody(res, parsed.error);
    const made = create(req, res, [{ name, users: parsed.data.users }]);
    if (made) res.status(201).json(groupModel(ctx, made[0]!));
  });

  /** NAME when it exists and the request holds one of `scopes` for it; else answers 403 or 404. */
  const existingGroup = (req: Request, res: Response, scopes: readonly Scope[]): string | undefined => {
    const name = nameParam(req, res, 'name', 'group');
    if (!name || !requireScope(res, accessOf(perms, req), scopes, { group: name })) return undefined;
    if (!groups.get(name)) {
      apiError(res, 404, `No such group: ${name}`);
      return undefined;
    }
    return name;
  };

  router.get('/groups/:name', (req, res) => {
    const name = existingGroup(req, res, GROUP_READ_SCOPES);
    if (name) res.json(visibleGroup(ctx, accessOf(perms, req), groups.get(name)!));
  });

  router.delete('/groups/:name', (req, res) => {
    const name = existingGroup(req, res, ['delete:groups']);
    if (!name) return;
    try {
      groups.delete(name);
      ctx.groupProperties.remove(name);
      ctx.logger.info({ group: name, by: requesterName(req) }, 'group deleted');
      res.status(204).end();
    } catch (err) {
      answerGroupError(res, err);
    }
  });

  for (const method of ['post', 'delete'] as const) {
    router[method]('/groups/:name/users', (req, res) => {
      const name = existingGroup(req, res, ['groups']);
      if (!name) return;
      const parsed = usersBody.safeParse(req.body ?? {});
      if (!parsed.success) return badBody(res, parsed.error);
      try {
        const g = method === 'post' ? groups.addMembers(name, parsed.data.users) : groups.removeMembers(name, parsed.data.users);
        res.json(groupModel(ctx, g));
      } catch (err) {
        answerGroupError(res, err);
      }
    });
  }

  router.put('/groups/:name/properties', (req, res) => {
    const name = existingGroup(req, res, ['groups']);
    if (!name) return;
    const parsed = propertiesBody.safeParse(req.body);
    if (!parsed.success) return badBody(res, parsed.error);
    if (Buffer.byteLength(JSON.stringify(parsed.data)) > MAX_PROPERTIES_BYTES) {
      return apiError(res, 400, `group properties are limited to ${MAX_PROPERTIES_BYTES} bytes of JSON`);
    }
    ctx.groupProperties.set(name, parsed.data);
    res.json(groupModel(ctx, groups.get(name)!));
  });

  return router;
}
