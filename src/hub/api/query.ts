import type { Request, Response } from 'express';
import { apiError } from './respond.js';

/** A query value the endpoint cannot use: answered 400 with the message. */
export class BadQuery extends Error {
  override name = 'BadQuery';
}

/** The one value of a query parameter; a repeated parameter is refused, not guessed at. */
export function queryValue(req: Request, name: string): string | undefined {
  const raw = req.query[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string') throw new BadQuery(`give the query parameter ${name} once, as a plain value`);
  return raw;
}

/** JupyterHub's boolean flags: present means true, unless spelled as a false value. */
export function queryFlag(req: Request, name: string): boolean {
  const value = queryValue(req, name);
  if (value === undefined) return false;
  if (['', '1', 'true', 'yes', 'on'].includes(value.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(value.toLowerCase())) return false;
  throw new BadQuery(`${name} must be true or false, not ${JSON.stringify(value.slice(0, 40))}`);
}

export const PAGINATION_MEDIA_TYPE = 'application/jupyterhub-pagination+json';
/** JupyterHub's api_page_default_limit and api_page_max_limit. */
export const PAGE_DEFAULT_LIMIT = 50;
export const PAGE_MAX_LIMIT = 200;

/** Whether the client asked for the paginated shape (`items` and `_pagination`). */
export function acceptsPagination(req: Request): boolean {
  const accept = req.headers.accept ?? '';
  return accept.split(',').some((part) => part.trim().toLowerCase().split(';')[0] === PAGINATION_MEDIA_TYPE);
}

const WHOLE_NUMBER = /^\d+$/;

/**
 * `offset` and `limit` as JupyterHub reads them: whole numbers, limit capped to 1..200; without
 * the pagination media type the default limit is the maximum, so old clients miss nobody.
 */
export function pagination(req: Request): { offset: number; limit: number } {
  const read = (name: string, fallback: number) => {
    const value = queryValue(req, name);
    if (value === undefined) return fallback;
    if (!WHOLE_NUMBER.test(value.trim())) throw new BadQuery('Invalid argument type, offset and limit must be integers');
    return Number(value.trim());
  };
  const offset = read('offset', 0);
  const limit = Math.min(PAGE_MAX_LIMIT, Math.max(1, read('limit', acceptsPagination(req) ? PAGE_DEFAULT_LIMIT : PAGE_MAX_LIMIT)));
  return { offset, limit };
}

/**
 * One page of `all`, each item made into its model only on the page: JupyterHub's paginated
 * model when the client accepts it (with the next page's URL), else the bare list.
 */
export function paginated<T, M>(req: Request, all: readonly T[], page: { offset: number; limit: number }, model: (item: T) => M) {
  const items = all.slice(page.offset, page.offset + page.limit).map(model);
  if (!acceptsPagination(req)) return items;
  const nextOffset = page.offset + page.limit;
  let next = null;
  if (nextOffset < all.length) {
    const url = new URL(req.originalUrl, `${req.protocol}://${req.get('host') ?? 'localhost'}`);
    url.searchParams.set('offset', String(nextOffset));
    url.searchParams.set('limit', String(page.limit));
    next = { offset: nextOffset, limit: page.limit, url: url.toString() };
  }
  return { items, _pagination: { offset: page.offset, limit: page.limit, total: all.length, next } };
}

/** Answers a BadQuery as JupyterHub does (400); anything else goes on to the error handler. */
export function answeringBadQuery(handler: (req: Request, res: Response) => void) {
  return (req: Request, res: Response) => {
    try {
      handler(req, res);
    } catch (err) {
      if (err instanceof BadQuery) apiError(res, 400, err.message);
      else throw err;
    }
  };
}
