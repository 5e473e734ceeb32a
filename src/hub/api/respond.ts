import type { NextFunction, Request, Response } from 'express';
import type { z } from 'zod';
import { isValidUserName, NAME_RULE } from '../../config/names.js';
import type { Caller } from '../auth/caller.js';

/** JupyterHub's error body: `{"status": 404, "message": "..."}`. */
export function apiError(res: Response, status: number, message: string): void {
  res.status(status).json({ status, message });
}

/** A readable 400 from a zod failure: each issue as `field: message`. */
export function badBody(res: Response, error: z.ZodError): void {
  const detail = error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'body'}: ${i.message}`).join('; ');
  apiError(res, 400, `invalid request body: ${detail}`);
}

/** The API needs a signed-in caller (session or token). */
export function requireCaller(req: Request, res: Response, next: NextFunction): void {
  if (!req.caller) {
    apiError(res, 401, 'authentication required: sign in, or send "Authorization: token <API token>"');
    return;
  }
  next();
}

export function callerOf(req: Request): Caller {
  if (!req.caller) throw new Error('requireCaller must run first');
  return req.caller;
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

/** Same answer for a user who does not exist and one the caller may not see. */
export function noSuchUser(res: Response, name: string): void {
  apiError(res, 404, `no such user, or not one you may see: ${name}`);
}
