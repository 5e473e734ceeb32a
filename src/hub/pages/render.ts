import type { Request, Response } from 'express';
import { assetBase } from '../../util/static-assets.js';
import type { HubContext } from '../context.js';

/** Where the hub serves static/ (see util/static-assets). */
export const STATIC_MOUNT = '/hub/static';

/** Navigation links for the shared header: what this user may open. */
export function navLinks(ctx: HubContext, user: string | null): { href: string; label: string }[] {
  if (!user) return [];
  const links = [
    { href: '/hub/home', label: 'Home' },
    { href: '/hub/monitor', label: 'Monitor' },
  ];
  if (mayAdminister(ctx, user)) links.push({ href: '/hub/admin', label: 'Admin' });
  return links;
}

export function mayAdminister(ctx: HubContext, user: string): boolean {
  const p = ctx.permissions;
  return p.holdsAny(user, 'admin:users') || p.holdsAny(user, 'admin:groups') || p.holdsAny(user, 'admin:servers');
}

/** Renders a hub page with what every page needs: title, XSRF token, user, navigation. */
export function renderPage(
  ctx: HubContext,
  req: Request,
  res: Response,
  view: string,
  status: number,
  locals: Record<string, unknown> & { title: string },
): void {
  const user = req.caller?.user ?? null;
  // Only signed-in sessions hold a token: an anonymous visit must not store a session. The
  // sign-in form brings its own (locals.xsrf, from a signed cookie).
  const xsrf = req.caller?.via === 'cookie' ? ctx.xsrf.generateToken(req) : '';
  res.status(status).render(`hub/${view}`, {
    xsrf,
    base: assetBase(STATIC_MOUNT),
    user,
    links: navLinks(ctx, user),
    current: req.path,
    ...locals,
  });
}

/** A plain message page (not found, not running, forbidden), or the same as JSON for API clients. */
export function messagePage(
  ctx: HubContext,
  req: Request,
  res: Response,
  status: number,
  title: string,
  message: string,
  json: boolean,
  extra: Record<string, unknown> = {},
): void {
  if (json) {
    res.status(status).json({ status, message, ...extra });
    return;
  }
  renderPage(ctx, req, res, 'message', status, { title, message });
}
