import type { ServerStatus } from '../../spawner/index.js';
import type { Caller } from '../auth/caller.js';
import type { HubContext } from '../context.js';
import { accessOfCaller } from '../roles/request-access.js';

export interface ReachableOwner {
  name: string;
  status: ServerStatus;
  /** The caller holds `servers` for this owner: the page offers a Start button. */
  mayStart: boolean;
}

/**
 * Every owner whose server the caller may reach (access:servers, the same rule as the proxy, with
 * a scoped token's own scopes), the user's own server included: what the home page and the
 * monitor list.
 */
export function reachableOwners(ctx: HubContext, caller: Caller): ReachableOwner[] {
  const access = accessOfCaller(ctx.permissions, caller);
  return ctx.users
    .list()
    .filter((name) => access.can('access:servers', { user: name }))
    .map((name) => ({ name, status: ctx.servers.status(name), mayStart: access.can('start:servers', { user: name }) }));
}
