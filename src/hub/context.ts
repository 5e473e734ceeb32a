import type { SiteConfig } from '../config/index.js';
import type { UserProxy } from '../proxy/index.js';
import type { ServerStatus } from '../spawner/index.js';
import type { Logger } from '../util/logger.js';
import type { UserActivity } from './activity/user-activity.js';
import type { Caller } from './auth/caller.js';
import type { LoginLimiter } from './auth/login-limiter.js';
import type { LoginXsrf } from './auth/login-xsrf.js';
import type { UserDirectory } from './auth/user-directory.js';
import type { Xsrf } from './auth/xsrf.js';
import type { GroupDirectory } from './groups/group-directory.js';
import type { GroupProperties } from './groups/group-properties.js';
import type { Permissions } from './roles/permissions.js';
import type { ServerControl } from './servers.js';
import { accessOfCaller, workflowCeiling } from './roles/request-access.js';
import type { ServiceTokens } from './tokens/service-tokens.js';
import type { HubServices } from './services/hub-services.js';
import type { TokenStore } from './tokens/token-store.js';

/** Everything the hub's routes share. */
export interface HubContext {
  config: SiteConfig;
  users: UserDirectory;
  groups: GroupDirectory;
  /** JupyterHub's group `properties`, stored in hub.sqlite. */
  groupProperties: GroupProperties;
  permissions: Permissions;
  tokens: TokenStore;
  /** The api_tokens of JupyterHub.services (configured, or made at start for hub-managed ones). */
  serviceTokens: ServiceTokens;
  /** Accounts' `created` and `last_activity`, kept across server stops and hub restarts. */
  activity: UserActivity;
  /** The processes of JupyterHub's services that have a command, which the hub runs. */
  services: HubServices;
  servers: ServerControl;
  /** Deletes the API tokens and sessions of an account that is gone and stops its server. */
  clearAccount(name: string): Promise<void>;
  proxy: UserProxy;
  /** XSRF of signed-in sessions. */
  xsrf: Xsrf;
  loginLimiter: LoginLimiter;
  /** XSRF of the sign-in form, in a signed cookie rather than a session. */
  loginXsrf: LoginXsrf;
  logger: Logger;
  /** The hub's own origin from bind_url, e.g. `http://127.0.0.1:8000`. */
  origin: string;
  /** Origins a browser may use the hub from (`public_url`), for the WebSocket Origin check. */
  publicOrigins: ReadonlySet<string>;
  /** Logs an unexpected error of a request; damage to hub.sqlite also stops the hub (HubOptions.onDatabaseDamage). */
  internalError(what: string, err: unknown): void;
}

const iso = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : null);

/** JupyterHub's `pending` for a server in this state. */
function pendingOf(status: ServerStatus): 'spawn' | 'stop' | null {
  return status === 'starting' ? 'spawn' : status === 'stopping' ? 'stop' : null;
}

/**
 * The default server's model, JupyterHub's shape (named servers are off: the name is always "").
 * `last_activity` of a running server is its own traffic's (what idle culling goes by); of a
 * stopped one, the account's last activity, which survives the stop.
 */
export function serverModel(ctx: HubContext, name: string) {
  const status = ctx.servers.status(name);
  return {
    name: '',
    full_name: `${name}/`,
    last_activity: iso(ctx.servers.lastActivity(name) ?? ctx.activity.get(name)?.lastActivity),
    started: iso(ctx.servers.startedAt(name)),
    pending: pendingOf(status),
    ready: status === 'running',
    stopped: status === 'stopped',
    url: `/user/${name}/`,
    user_options: {},
    progress_url: `/hub/api/users/${name}/server/progress`,
    full_url: null,
    full_progress_url: null,
  };
}

/** The user model of the REST API, JupyterHub's shape plus Flotilla's `status` (and `spawn_error`). */
export function userModel(ctx: HubContext, name: string, options: { includeStoppedServers?: boolean } = {}) {
  const status = ctx.servers.status(name);
  const times = ctx.activity.get(name);
  const failure = ctx.servers.lastFailure(name);
  const roles = ctx.permissions.rolesOf(name);
  const active = status !== 'stopped';
  return {
    kind: 'user' as const,
    name,
    admin: roles.includes('admin'),
    roles,
    groups: ctx.groups.groupsOf(name),
    server: status === 'running' ? `/user/${name}/` : null,
    pending: pendingOf(status),
    created: iso(times?.created),
    // The later of the account's (hub use, a stopped server's) and the running server's.
    last_activity: iso(Math.max(ctx.servers.lastActivity(name) ?? 0, times?.lastActivity ?? 0) || undefined),
    servers: active || options.includeStoppedServers ? { '': serverModel(ctx, name) } : {},
    auth_state: null,
    status,
    started: iso(ctx.servers.startedAt(name)),
    ...(failure && status === 'stopped' ? { spawn_error: failure } : {}),
  };
}

export type UserModel = ReturnType<typeof userModel>;

/** The identity handed to the proxy, signed into the proof for the workflow server. */
export function identityFor(ctx: HubContext, caller: Caller, owner: string, xsrf: string | undefined) {
  const ceiling = workflowCeiling(accessOfCaller(ctx.permissions, caller), caller, owner);
  return {
    user: caller.user,
    groups: ctx.groups.groupsOf(caller.user),
    owner,
    ownerGroups: ctx.groups.groupsOf(owner),
    ...(caller.via === 'cookie' && xsrf ? { xsrf } : {}),
    via: caller.via,
    ...(ceiling ? { ceiling } : {}),
  };
}
