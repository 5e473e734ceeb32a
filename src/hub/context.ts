import type { SiteConfig } from '../config/index.js';
import type { UserProxy } from '../proxy/index.js';
import type { Logger } from '../util/logger.js';
import type { UserActivity } from './activity/user-activity.js';
import type { Caller } from './auth/caller.js';
import type { LoginLimiter } from './auth/login-limiter.js';
import type { LoginXsrf } from './auth/login-xsrf.js';
import type { UserDirectory } from './auth/user-directory.js';
import type { Xsrf } from './auth/xsrf.js';
import type { GroupDirectory } from './groups/group-directory.js';
import type { Permissions } from './roles/permissions.js';
import type { ServerControl } from './servers.js';
import type { HubServices } from './services/hub-services.js';
import type { TokenStore } from './tokens/token-store.js';

/** Everything the hub's routes share. */
export interface HubContext {
  config: SiteConfig;
  users: UserDirectory;
  groups: GroupDirectory;
  permissions: Permissions;
  tokens: TokenStore;
  /** Accounts' `created` and `last_activity`, kept across server stops and hub restarts. */
  activity: UserActivity;
  /** The processes of JupyterHub's services that have a command, which the hub runs. */
  services: HubServices;
  servers: ServerControl;
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

/** The user model of the REST API, JupyterHub's shape. */
export function userModel(ctx: HubContext, name: string) {
  const status = ctx.servers.status(name);
  const serverActivity = ctx.servers.lastActivity(name);
  const times = ctx.activity.get(name);
  const lastActivity = Math.max(serverActivity ?? 0, times?.lastActivity ?? 0) || undefined;
  const failure = ctx.servers.lastFailure(name);
  const started = ctx.servers.startedAt(name);
  const roles = ctx.permissions.rolesOf(name);
  return {
    kind: 'user' as const,
    name,
    admin: roles.includes('admin'),
    roles,
    groups: ctx.groups.groupsOf(name),
    server: status === 'running' ? `/user/${name}/` : null,
    pending: status === 'starting' ? 'spawn' : status === 'stopping' ? 'stop' : null,
    status,
    created: times ? new Date(times.created).toISOString() : null,
    started: started ? new Date(started).toISOString() : null,
    last_activity: lastActivity ? new Date(lastActivity).toISOString() : null,
    ...(failure && status === 'stopped' ? { spawn_error: failure } : {}),
  };
}

/** The identity handed to the proxy, signed into the proof for the workflow server. */
export function identityFor(ctx: HubContext, caller: Caller, owner: string, xsrf: string | undefined) {
  return {
    user: caller.user,
    groups: ctx.groups.groupsOf(caller.user),
    owner,
    ownerGroups: ctx.groups.groupsOf(owner),
    ...(caller.via === 'cookie' && xsrf ? { xsrf } : {}),
    via: caller.via,
  };
}
