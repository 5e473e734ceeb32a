import express, { Router, type NextFunction, type Request, type Response } from 'express';
import type passport from 'passport';
import type { HubContext } from '../context.js';
import { safeNext } from '../auth/next-url.js';
import { renderPage } from './render.js';

const MAX_FIELD = 1024;
const FAILED = 'Invalid user name or password.';

function field(body: unknown, name: string): string {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value.slice(0, MAX_FIELD) : '';
}

/** The sign-in form; its XSRF token lives in a signed cookie, so that anonymous visits store no session. */
function loginPage(ctx: HubContext, req: Request, res: Response, status: number, error: string | null, username = ''): void {
  const next = safeNext(req.method === 'GET' ? req.query.next : field(req.body, 'next'));
  renderPage(ctx, req, res, 'login', status, { title: 'Sign in', error, username, next, xsrf: ctx.loginXsrf.issue(req, res) });
}

/** 429 with Retry-After; the same for every name, known or not. */
function tooManyAttempts(ctx: HubContext, req: Request, res: Response, retryAfterSeconds: number, username: string): void {
  res.setHeader('Retry-After', String(retryAfterSeconds));
  const message = `Too many failed sign-in attempts. Try again in ${Math.ceil(retryAfterSeconds / 60)} minute(s).`;
  if (req.accepts(['html', 'json']) === 'json') res.status(429).json({ status: 429, message, retry_after: retryAfterSeconds });
  else loginPage(ctx, req, res, 429, message, username);
}

/** GET/POST /hub/login and POST /hub/logout. */
export function loginPages(ctx: HubContext, auth: passport.Authenticator, cookieName: string): Router {
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '16kb' });

  router.get('/hub/login', (req, res) => {
    if (req.caller?.via === 'cookie') {
      res.redirect(302, safeNext(req.query.next));
      return;
    }
    loginPage(ctx, req, res, 200, null);
  });

  router.post('/hub/login', form, async (req: Request, res: Response, nextFn: NextFunction) => {
    if (!ctx.loginXsrf.isValid(req)) {
      loginPage(ctx, req, res, 403, 'This sign-in form has expired. Please try again.');
      return;
    }
    const username = field(req.body, 'username').trim();
    const password = field(req.body, 'password');
    // The client's address: the socket's, or behind the loopback TLS proxy of an https hub
    // (express's `trust proxy`, set by createHub) the one that proxy puts in X-Forwarded-For.
    const address = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    // Counted before the password is checked, so that parallel attempts cannot outrun the count.
    const attempt = ctx.loginLimiter.begin(username, address);
    if (!attempt.allowed) {
      tooManyAttempts(ctx, req, res, attempt.retryAfterSeconds, username);
      return;
    }
    // passport-local reads username and password from the body and checks them (same bcrypt work
    // for every kind of failure); a new session id is issued by req.login (passport regenerates).
    // passport does not await this callback: a rejection must reach the error handler (a 500),
    // not become an unhandled rejection that leaves the request hanging.
    const finish = async (err: unknown, account: Express.User | false) => {
      if (err || !account) {
        if (err) ctx.internalError('sign-in check failed', err);
        ctx.logger.info({ user: username.slice(0, 64), address }, 'failed sign-in');
        loginPage(ctx, req, res, 403, FAILED, username);
        return;
      }
      attempt.succeeded();
      const next = safeNext(field(req.body, 'next'));
      req.login(account, (loginErr) => {
        if (loginErr) {
          ctx.internalError('cannot create a session', loginErr);
          loginPage(ctx, req, res, 500, 'The hub could not create a session; please try again.');
          return;
        }
        ctx.loginXsrf.clear(res);
        ctx.logger.info({ user: account.name, address }, 'signed in');
        res.redirect(302, next);
      });
    };
    auth.authenticate('local', { session: false }, (err: unknown, account: Express.User | false) => {
      finish(err, account).catch(nextFn);
    })(req, res, nextFn);
  });

  router.post('/hub/logout', form, (req, res) => {
    if (req.caller?.via === 'cookie' && !ctx.xsrf.isRequestValid(req)) {
      res.status(403).type('text/plain').send('Missing or wrong XSRF token.');
      return;
    }
    const user = req.caller?.user;
    req.session.destroy((err) => {
      if (err) ctx.internalError('cannot destroy a session', err);
      // A __Host- cookie (https) is only replaced by one that is Secure too.
      res.clearCookie(cookieName, { path: '/', secure: req.secure });
      if (user) ctx.logger.info({ user }, 'signed out');
      res.redirect(302, '/hub/login');
    });
  });

  return router;
}
