import { Router, type Request, type Response } from 'express';
import * as z from 'zod';
import { isValidUserName, NAME_RULE } from '../../config/names.js';
import type { HubContext } from '../context.js';
import { visibleUser } from './models.js';
import { serviceModel } from './services.js';
import { answeringBadQuery, BadQuery, pagination, paginated, queryFlag, queryValue } from './query.js';
import { accessOf, apiError, badBody, nameParam, requesterName, requireListScope, requireScope } from './respond.js';

/** Every scope that reveals part of a user model: holding one (with any filter) makes a 404, not a 403. */
const USER_READ_SCOPES = ['read:users', 'read:users:name', 'read:users:groups', 'read:users:activity', 'read:servers', 'read:roles:users', 'admin:auth_state'] as const;

const STATES = ['active', 'ready', 'inactive'] as const;
const SORTS = ['id', 'name', 'last_activity'] as const;

const userName = z.string().refine(isValidUserName, { message: `invalid user name: ${NAME_RULE}` });
const createManyBody = z.strictObject({ usernames: z.array(userName).min(1).max(1_000), admin: z.boolean().optional() });
const createOneBody = z.strictObject({ admin: z.boolean().optional() });
const patchBody = z.strictObject({ name: z.string().optional(), admin: z.boolean().optional() });
const isoDate = z.iso.datetime({ offset: true, local: true, error: 'expected an ISO 8601 date-time, such as 2026-01-31T12:00:00Z' });
const activityBody = z.strictObject({
  last_activity: isoDate.optional(),
  servers: z.record(z.string(), z.object({ last_activity: isoDate }).loose()).optional(),
});

/** Flotilla's accounts are htpasswd entries: the REST API cannot make one (it has no password). */
function createRefused(names: readonly string[]): string {
  return (
    `cannot create ${names.join(', ')}: Flotilla's accounts are entries of the htpasswd file, which need a password; ` +
    'add one on the admin page, with POST /hub/api/accounts {"name", "password"}, or with ' +
    '`bin/flotilla passwd add --file HTPASSWD NAME` (the hub sees it within seconds)'
  );
}

const ACTIVE = new Set(['starting', 'running', 'stopping']);

/** JupyterHub's `?state=`: active (any server, pending or not), ready (running), inactive (none). */
function matchesState(status: string, state: (typeof STATES)[number] | undefined): boolean {
  if (state === 'active') return ACTIVE.has(status);
  if (state === 'ready') return status === 'running';
  if (state === 'inactive') return !ACTIVE.has(status);
  return true;
}

/** GET /user, GET|POST /users, GET|POST|PATCH|DELETE /users/NAME, POST /users/NAME/activity. */
export function usersApi(ctx: HubContext): Router {
  const router = Router();
  const { permissions: perms } = ctx;

  router.get('/user', (req, res) => {
    const access = accessOf(perms, req);
    const identity = { session_id: null, scopes: access.scopeNames(), token_id: req.caller?.token?.id ?? null };
    if (req.service !== undefined) {
      res.json({ ...serviceModel(ctx, req.service), ...identity });
      return;
    }
    const name = req.caller!.user;
    // The request may always identify itself (JupyterHub's identify scopes, read:users:name and
    // read:users:groups on itself): kind, name, admin and groups.
    const own = visibleUser(ctx, access, name) ?? {};
    const admin = ctx.permissions.rolesOf(name).includes('admin');
    res.json({ kind: 'user', name, admin, groups: ctx.groups.groupsOf(name), ...own, ...identity });
  });

  router.get(
    '/users',
    answeringBadQuery((req, res) => {
      const access = accessOf(perms, req);
      if (!requireListScope(res, access, 'list:users')) return;
      const state = queryValue(req, 'state');
      if (state !== undefined && !(STATES as readonly string[]).includes(state)) throw new BadQuery(`Unrecognized state filter: ${JSON.stringify(state.slice(0, 40))}`);
      const sortParam = queryValue(req, 'sort') ?? 'id';
      const descending = sortParam.startsWith('-');
      const sort = descending ? sortParam.slice(1) : sortParam;
      if (!(SORTS as readonly string[]).includes(sort)) throw new BadQuery(`sort must be 'id', 'name', or 'last_activity', not ${JSON.stringify(sortParam.slice(0, 40))}`);
      const page = pagination(req);
      const nameFilter = queryValue(req, 'name_filter')?.toLowerCase();
      const includeStoppedServers = queryFlag(req, 'include_stopped_servers');

      let names = ctx.users
        .list()
        .filter((name) => access.can('list:users', { user: name }))
        .filter((name) => nameFilter === undefined || name.toLowerCase().includes(nameFilter))
        .filter((name) => matchesState(ctx.servers.status(name), state as (typeof STATES)[number] | undefined));
      // Accounts have no numeric id here: `id` is name order, stable like JupyterHub's.
      if (sort === 'last_activity') {
        const at = (n: string) => Math.max(ctx.servers.lastActivity(n) ?? 0, ctx.activity.get(n)?.lastActivity ?? 0);
        names = names.sort((a, b) => at(a) - at(b) || a.localeCompare(b));
      }
      if (descending) names.reverse();
      res.json(paginated(req, names, page, (name) => visibleUser(ctx, access, name, { includeStoppedServers }) ?? { kind: 'user' as const, name }));
    }),
  );

  router.post('/users', (req, res) => {
    if (!requireScope(res, accessOf(perms, req), ['admin:users'])) return;
    const parsed = createManyBody.safeParse(req.body ?? {});
    if (!parsed.success) return badBody(res, parsed.error);
    const missing = parsed.data.usernames.filter((n) => !ctx.users.exists(n));
    if (missing.length === 0) apiError(res, 409, `All ${parsed.data.usernames.length} users already exist`);
    else apiError(res, 400, createRefused(missing));
  });

  /** NAME when the request may read something of it; else answers 403 or 404 (JupyterHub's rule). */
  const readableUser = (req: Request, res: Response): string | undefined => {
    const name = nameParam(req, res);
    if (!name) return undefined;
    return requireScope(res, accessOf(perms, req), USER_READ_SCOPES, { user: name }) ? name : undefined;
  };

  router.get(
    '/users/:name',
    answeringBadQuery((req, res) => {
      const name = readableUser(req, res);
      if (!name) return;
      res.json(visibleUser(ctx, accessOf(perms, req), name, { includeStoppedServers: queryFlag(req, 'include_stopped_servers') }));
    }),
  );

  router.post('/users/:name', (req, res) => {
    const name = nameParam(req, res);
    if (!name || !requireScope(res, accessOf(perms, req), ['admin:users'])) return;
    const parsed = createOneBody.safeParse(req.body ?? {});
    if (!parsed.success) return badBody(res, parsed.error);
    if (ctx.users.exists(name)) apiError(res, 409, `User ${name} already exists`);
    else apiError(res, 400, createRefused([name]));
  });

  router.patch('/users/:name', (req, res) => {
    const name = nameParam(req, res);
    if (!name || !requireScope(res, accessOf(perms, req), ['admin:users'], { user: name })) return;
    const parsed = patchBody.safeParse(req.body ?? {});
    if (!parsed.success) return badBody(res, parsed.error);
    const { name: newName, admin } = parsed.data;
    if (newName !== undefined && newName !== name) {
      apiError(res, 400, `cannot rename ${name}: the name is the account's htpasswd entry and its workflow folders; make the new account with \`bin/flotilla passwd add\``);
      return;
    }
    if (admin !== undefined && admin !== perms.rolesOf(name).includes('admin')) {
      apiError(res, 400, `cannot change ${name}'s admin status here: it comes from JupyterHub.authenticator.admin_users (or a role named "admin") in the site configuration`);
      return;
    }
    res.json(visibleUser(ctx, accessOf(perms, req), name));
  });

  /**
   * JupyterHub forgets the user (the authenticator may let them back in); here the account is
   * the htpasswd entry, which stays: the hub forgets what it keeps of them (their server is
   * stopped, their tokens revoked, their activity reset) and they may sign in again.
   */
  router.delete('/users/:name', async (req, res) => {
    const name = nameParam(req, res);
    if (!name || !requireScope(res, accessOf(perms, req), ['delete:users'], { user: name })) return;
    if (req.caller?.user === name) {
      apiError(res, 400, 'Cannot delete yourself!');
      return;
    }
    await ctx.servers.stop(name);
    const revoked = ctx.tokens.revokeAll(name);
    ctx.activity.remove(name);
    ctx.activity.ensureAccounts([name]);
    ctx.logger.info({ user: name, tokens: revoked, by: requesterName(req) }, 'user deleted from the hub (the htpasswd account stays)');
    res.status(204).end();
  });

  router.post('/users/:name/activity', (req, res) => {
    const name = nameParam(req, res);
    if (!name || !requireScope(res, accessOf(perms, req), ['users:activity'], { user: name })) return;
    const parsed = activityBody.safeParse(req.body ?? {});
    if (!parsed.success) return badBody(res, parsed.error);
    const named = Object.keys(parsed.data.servers ?? {}).filter((s) => s !== '');
    if (named.length > 0) {
      apiError(res, 400, `No such server '${named[0]!.slice(0, 40)}' for user ${name}: named servers are not enabled`);
      return;
    }
    const { last_activity: userTime, servers } = parsed.data;
    const serverTime = servers?.['']?.last_activity;
    if (userTime === undefined && serverTime === undefined) {
      apiError(res, 400, 'the body must give last_activity, servers, or both (JupyterHub\'s activity model)');
      return;
    }
    // Activity from the future is taken as now: a skewed clock must not make a user look busy forever.
    const at = (time: string) => Math.min(Date.now(), Date.parse(time));
    // The server's own time is what idle culling goes by; the account's is the later of the two.
    if (serverTime !== undefined) ctx.servers.noteActivity(name, at(serverTime));
    ctx.activity.record(name, Math.max(...[userTime, serverTime].filter((t): t is string => t !== undefined).map(at)));
    res.status(200).json({});
  });

  return router;
}
