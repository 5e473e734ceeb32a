import type { Request } from 'express';
import { GROUP_OPERATIONS, type Operation } from '../../authz/index.js';
import type { Caller } from '../auth/caller.js';
import type { Access, Permissions } from './permissions.js';

/** What a signed-in caller may do: a scoped token's own scopes, else all of the user's. */
export function accessOfCaller(perms: Permissions, caller: Caller): Access {
  const user = { kind: 'user' as const, name: caller.user };
  return caller.token ? perms.accessOfToken(user, caller.token.scopes) : perms.accessOf(user);
}

/** What the request may do: its user's (or token's) or its service's scopes; undefined: anonymous. */
export function accessOfRequest(perms: Permissions, req: Request): Access | undefined {
  if (req.caller) return accessOfCaller(perms, req.caller);
  if (req.service !== undefined) return perms.accessOf({ kind: 'service', name: req.service });
  return undefined;
}

const CEILINGS = [
  ['custom:workflows:read', GROUP_OPERATIONS.READ],
  ['custom:workflows:control', GROUP_OPERATIONS.CONTROL],
  ['custom:workflows:all', GROUP_OPERATIONS.ALL],
] as const;

/**
 * The most a token lets its holder do inside `owner`'s workflow server, from its
 * `custom:workflows:*` scopes that reach that owner; undefined when there is no ceiling (a
 * session, a token that inherits, a token that names no workflow scope: JupyterHub's
 * `access:servers` alone means full access). The workflow server intersects the owner's grants
 * with it, so the token never gets more than its user would.
 */
export function workflowCeiling(access: Access, caller: Caller, owner: string): Operation[] | undefined {
  const scopes = caller.token?.scopes;
  if (scopes === undefined || scopes.includes('inherit') || !scopes.some((s) => s.startsWith('custom:workflows:'))) return undefined;
  const ops = new Set<Operation>();
  for (const [scope, granted] of CEILINGS) if (access.can(scope, { user: owner })) for (const op of granted) ops.add(op);
  return [...ops].sort();
}
