import type { NextFunction, Request, Response } from 'express';
import type { z } from 'zod';
import { isValidUserName, NAME_RULE } from '../../config/names.js';
import type { Scope } from '../../config/scopes.js';
import type { Access, Permissions, ScopeTarget } from '../roles/permissions.js';
import { accessOfRequest } from '../roles/request-access.js';

/** JupyterHub's error body: `{"status": 404, "message": "..."}`. */
export function apiError(res: Response, status: number, message: string): void {
  res.status(status).json({ status, message });
}

/** A readable 400 from a zod failure: each issue as `field: message`. */
export function badBody(res: Response, error: z.ZodError): void {
  const detail = error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'body'}: ${i.message}`).join('; ');
  apiError(res, 400, `invalid request body: ${detail}`);
}

/** The API needs a signed-in caller (session or token) or a service. */
export function requireCaller(req: Request, res: Response, next: NextFunction): void {
  if (!req.caller && req.service === undefined) {
    apiError(res, 401, 'authentication required: sign in, or send "Authorization: token <API token>"');
    return;
  }
  next();
}

/** What the request may do (requireCaller has run: there is a user or a service). */
export function accessOf(perms: Permissions, req: Request): Access {
  const access = accessOfRequest(perms, req);
  if (!access) throw new Error('requireCaller must run first');
  return access;
}

/** Who made the request, for logs: `alice` or `service:culler`. */
export function requesterName(req: Request): string {
  return req.caller?.user ?? `service:${req.service ?? '?'}`;
}

/**
 * JupyterHub's check of any of `scopes` on `target`: true when held; else answers 403 when
 * none of them is held at all, and 404 (the same as for a resource that does not exist) when
 * one is held only with a filter that does not reach the target.
 */
export function requireScope(res: Response, access: Access, scopes: readonly Scope[], target?: ScopeTarget): boolean {
  if (scopes.some((s) => (target ? access.can(s, target) : access.holdsUnfiltered(s)))) return true;
  if (target && scopes.some((s) => access.holdsAny(s))) apiError(res, 404, 'No access to resources or resources not found');
  else notAuthorized(res, scopes);
  return false;
}

/** For a listing: true when `scope` is held with any filter (the list is then filtered); else answers 403. */
export function requireListScope(res: Response, access: Access, scope: Scope): boolean {
  if (access.holdsAny(scope)) return true;
  notAuthorized(res, [scope]);
  return false;
}

function notAuthorized(res: Response, scopes: readonly Scope[]): void {
  apiError(res, 403, `Action is not authorized with current scopes; requires any of [${scopes.join(', ')}]`);
}

/** A route's NAME parameter, or undefined after answering 400 for a name no one can have. */
export function nameParam(req: Request, res: Response, param = 'name', what = 'user'): string | undefined {
  const name = req.params[param];
  if (!isValidUserName(name)) {
    apiError(res, 400, `invalid ${what} name: ${NAME_RULE}`);
    return undefined;
  }
  return name;
}

