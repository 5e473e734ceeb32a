import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';

/** How long a sign-in form stays usable. */
const LIFETIME_MS = 3_600_000;
const TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** One cookie's value from a request's Cookie header, undefined when absent. */
function cookieOf(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * XSRF protection of the sign-in form without a session (which would cost a database row per
 * anonymous visit): a signed double-submit cookie. The form carries a random token; the cookie
 * carries the same token with its issue time, signed with the cookie secret, so a value planted
 * in the cookie cannot be made up and an old one expires.
 */
export class LoginXsrf {
  constructor(
    private readonly secret: string,
    readonly cookieName: string,
    private readonly secure: boolean,
  ) {}

  private sign(token: string, issued: number): string {
    return createHmac('sha256', this.secret).update(`flotilla-login-xsrf\0${token}\0${issued}`).digest('base64url');
  }

  /** The token of the request's cookie if it is genuine and younger than `maxAgeMs`. */
  private tokenOf(req: Request, maxAgeMs = LIFETIME_MS): string | undefined {
    const [token, issuedText, mac, extra] = (cookieOf(req, this.cookieName) ?? '').split('.');
    if (extra !== undefined || !token || !issuedText || !mac || !TOKEN.test(token)) return undefined;
    const issued = Number(issuedText);
    const age = Date.now() - issued;
    if (!Number.isSafeInteger(issued) || age < 0 || age > maxAgeMs) return undefined;
    return sameText(mac, this.sign(token, issued)) ? token : undefined;
  }

  /**
   * The token for a sign-in form. A fairly new cookie is kept, so that forms open in other tabs
   * keep working; otherwise a fresh one is set, good for the form's whole lifetime.
   */
  issue(req: Request, res: Response): string {
    const current = this.tokenOf(req, LIFETIME_MS / 2);
    if (current) return current;
    const token = randomBytes(32).toString('base64url');
    const issued = Date.now();
    res.cookie(this.cookieName, `${token}.${issued}.${this.sign(token, issued)}`, {
      httpOnly: true,
      sameSite: 'lax',
      secure: this.secure,
      path: '/',
      maxAge: LIFETIME_MS,
    });
    return token;
  }

  /** Whether the form's `_xsrf` field matches the request's signed cookie. */
  isValid(req: Request): boolean {
    const field = (req.body as Record<string, unknown> | undefined)?._xsrf;
    const token = this.tokenOf(req);
    return typeof field === 'string' && token !== undefined && sameText(field, token);
  }

  /** Drops the cookie once it has served (after sign-in). */
  clear(res: Response): void {
    res.clearCookie(this.cookieName, { httpOnly: true, sameSite: 'lax', secure: this.secure, path: '/' });
  }
}
