import type { Scope } from '../../config/scopes.js';
import { userModel, type HubContext, type UserModel } from '../context.js';
import type { GroupInfo } from '../groups/group-directory.js';
import type { Access, ScopeTarget } from '../roles/permissions.js';
import type { TokenRecord } from '../tokens/token-store.js';

type Keys<T> = readonly (keyof T & string)[];

/** Which keys of the user model each scope reveals (JupyterHub's access map). */
const USER_KEYS: readonly [Scope, Keys<UserModel>][] = [
  ['read:users', ['kind', 'name', 'admin', 'roles', 'groups', 'server', 'pending', 'created', 'last_activity']],
  ['read:users:name', ['kind', 'name', 'admin']],
  ['read:users:groups', ['kind', 'name', 'groups']],
  ['read:users:activity', ['kind', 'name', 'last_activity']],
  // Flotilla's `status`, `started` and `spawn_error` describe the server.
  ['read:servers', ['kind', 'name', 'servers', 'status', 'started', 'spawn_error']],
  ['read:roles:users', ['kind', 'name', 'roles', 'admin']],
  ['admin:auth_state', ['kind', 'name', 'auth_state']],
];

const GROUP_KEYS: readonly [Scope, readonly string[]][] = [
  ['read:groups', ['kind', 'name', 'properties', 'users']],
  ['read:groups:name', ['kind', 'name']],
  ['read:roles:groups', ['kind', 'name', 'roles']],
];

/** The keys of a model that the scopes the request holds for `target` reveal. */
export function allowedKeys(access: Access, map: readonly [Scope, readonly string[]][], target: ScopeTarget): Set<string> {
  const keys = new Set<string>();
  for (const [scope, revealed] of map) if (access.can(scope, target)) for (const k of revealed) keys.add(k);
  return keys;
}

export function pick<T extends object>(model: T, keys: Set<string>): Partial<T> {
  return Object.fromEntries(Object.entries(model).filter(([k]) => keys.has(k))) as Partial<T>;
}

/**
 * The user model trimmed to what the request may read (`read:users:name` sees the name alone);
 * undefined when it may read nothing of it. `state` of the server needs admin:server_state.
 */
export function visibleUser(ctx: HubContext, access: Access, name: string, options: { includeStoppedServers?: boolean } = {}): Partial<UserModel> | undefined {
  const keys = allowedKeys(access, USER_KEYS, { user: name });
  if (keys.size === 0) return undefined;
  const model = pick(userModel(ctx, name, options), keys);
  if (model.servers && access.can('admin:server_state', { user: name })) {
    for (const server of Object.values(model.servers)) (server as Record<string, unknown>).state = {};
  }
  return model;
}

export interface GroupModel {
  kind: 'group';
  name: string;
  users: string[];
  roles: string[];
  properties: Record<string, unknown>;
  /** Flotilla: where the group comes from, and members that cannot be removed here. */
  sources: GroupInfo['sources'];
  fixed_users: string[];
}

export function groupModel(ctx: HubContext, g: GroupInfo): GroupModel {
  return {
    kind: 'group',
    name: g.name,
    users: g.users,
    roles: ctx.permissions.rolesOfGroup(g.name),
    properties: ctx.groupProperties.get(g.name),
    sources: g.sources,
    fixed_users: g.fixedUsers,
  };
}

/** The group model trimmed to what the request may read; Flotilla's keys go with read:groups. */
export function visibleGroup(ctx: HubContext, access: Access, g: GroupInfo): Partial<GroupModel> | undefined {
  const keys = allowedKeys(access, GROUP_KEYS, { group: g.name });
  if (keys.has('users')) {
    keys.add('sources');
    keys.add('fixed_users');
  }
  return keys.size === 0 ? undefined : pick(groupModel(ctx, g), keys);
}

/**
 * JupyterHub's token model. `scopes` are what the token may do now: its own scopes within its
 * owner's current ones. `roles` is always empty (JupyterHub resolves roles to scopes at creation).
 */
export function tokenModel(ctx: HubContext, t: TokenRecord) {
  const access = ctx.permissions.accessOfToken({ kind: 'user', name: t.user }, t.scopes ?? undefined);
  return {
    kind: 'api_token' as const,
    id: t.id,
    user: t.user,
    roles: [] as string[],
    scopes: access.scopeNames(),
    note: t.note,
    created: t.created,
    expires_at: t.expires_at,
    last_activity: t.last_activity,
    session_id: null,
    oauth_client: 'JupyterHub',
  };
}
