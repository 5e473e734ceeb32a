import type { Caller } from '../auth/caller.js';
import type { HubContext } from '../context.js';
import { accessOfCaller } from '../roles/request-access.js';
import { parseUserPath } from './user-path.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** What a request to `/user/NAME/…` gets, decided once for the express route and the front door. */
export type UserRequestDecision =
  | { kind: 'bad-address'; message: string }
  | { kind: 'redirect'; location: string }
  | { kind: 'sign-in' }
  | { kind: 'no-access'; owner: string }
  | { kind: 'xsrf' }
  | { kind: 'proxy'; owner: string; caller: Caller }
  | { kind: 'not-running'; owner: string; caller: Caller; status: string; mayStart: boolean };

/**
 * The checks every request to a user's server passes, in order: a well-formed name, a caller, the
 * caller's `access:servers` on NAME, the XSRF token for a cookie request that changes anything,
 * and NAME's server running. `xsrfValid` is asked only for such a cookie request.
 */
export function decideUserRequest(
  ctx: HubContext,
  caller: Caller | undefined,
  target: string,
  method: string,
  xsrfValid: () => boolean,
): UserRequestDecision {
  const parsed = parseUserPath(target);
  if (!parsed.ok) return { kind: 'bad-address', message: parsed.message };
  const { owner } = parsed;
  if (parsed.bare) {
    const q = target.indexOf('?');
    return { kind: 'redirect', location: `/user/${owner}/${q === -1 ? '' : target.slice(q)}` };
  }
  if (!caller) return { kind: 'sign-in' };
  const access = accessOfCaller(ctx.permissions, caller);
  if (!access.can('access:servers', { user: owner })) return { kind: 'no-access', owner };
  if (caller.via === 'cookie' && !SAFE_METHODS.has(method) && !xsrfValid()) return { kind: 'xsrf' };
  const status = ctx.servers.status(owner);
  if (status === 'running') return { kind: 'proxy', owner, caller };
  return { kind: 'not-running', owner, caller, status, mayStart: access.can('start:servers', { user: owner }) };
}
