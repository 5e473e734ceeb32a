import { isValidUserName, NAME_RULE } from '../../config/names.js';

export type UserPath =
  | { ok: true; owner: string; /** `/user/NAME` without the slash after the name */ bare: boolean }
  | { ok: false; message: string };

const PREFIX = '/user/';

/**
 * Reads the owner from the raw request target (never a decoded one): the name must pass the one
 * name rule as written, and the rest of the path may not hide a slash, a backslash or a dot
 * segment behind percent-encoding, so that what the hub checked is what the server routes.
 */
export function parseUserPath(rawTarget: string): UserPath {
  const q = rawTarget.indexOf('?');
  const path = q === -1 ? rawTarget : rawTarget.slice(0, q);
  if (!path.startsWith(PREFIX)) return { ok: false, message: 'not a /user/NAME/ path' };
  const rest = path.slice(PREFIX.length);
  const slash = rest.indexOf('/');
  const owner = slash === -1 ? rest : rest.slice(0, slash);
  if (!isValidUserName(owner)) return { ok: false, message: `invalid user name in the address: ${NAME_RULE}` };
  if (/%(2f|5c)|\\/i.test(path)) return { ok: false, message: 'encoded slashes and backslashes are not allowed in the address' };
  for (const segment of path.split('/')) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      return { ok: false, message: 'the address holds a malformed percent-encoding' };
    }
    if (decoded === '.' || decoded === '..') return { ok: false, message: 'dot segments ("." and "..") are not allowed in the address' };
  }
  return { ok: true, owner, bare: slash === -1 };
}
