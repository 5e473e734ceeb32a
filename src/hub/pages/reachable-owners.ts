import type { ServerStatus } from '../../spawner/index.js';
import type { HubContext } from '../context.js';

export interface ReachableOwner {
  name: string;
  status: ServerStatus;
  /** The caller holds `servers` for this owner: the page offers a Start button. */
  mayStart: boolean;
}

/**
 * Every owner whose server `user` may reach (access:servers, the same rule as the proxy), the
 * user's own server included: what the home page and the monitor list.
 */
export function reachableOwners(ctx: HubContext, user: string): ReachableOwner[] {
  const p = ctx.permissions;
  return ctx.users
    .list()
    .filter((name) => p.can(user, 'access:servers', { user: name }))
    .map((name) => ({ name, status: ctx.servers.status(name), mayStart: p.can(user, 'servers', { user: name }) }));
}
