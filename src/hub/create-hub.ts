import express, { type NextFunction, type Request, type Response } from 'express';
import session from 'express-session';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import passport from 'passport';
import { Strategy as LocalStrategy } from 'passport-local';
import type { LoginLimits, SiteConfig } from '../config/index.js';
import { HtpasswdFile } from '../htpasswd/index.js';
import { UserProxy } from '../proxy/index.js';
import { isolationForSite, Spawner, type ServerLaunch } from '../spawner/index.js';
import { explainDatabaseError, isDatabaseDamage, type DatabaseError } from '../storage/sqlite-open.js';
import { silentLogger, type Logger } from '../util/logger.js';
import { renderPagesFrom } from '../util/page-views.js';
import { securityHeaderList, securityHeaders } from '../util/security-headers.js';
import { staticAssets } from '../util/static-assets.js';
import { errorMessage } from '../util/values.js';
import { ActivityMeter } from './activity/activity-meter.js';
import { UserActivity } from './activity/user-activity.js';
import { hubApi } from './api/index.js';
import { authenticate, hasTokenInQuery, TOKEN_IN_URL_MESSAGE, wantsJson } from './auth/caller.js';
import { clearAccount, clearDepartedAccounts } from './auth/departed-accounts.js';
import { LoginLimiter } from './auth/login-limiter.js';
import { LoginAttemptStore } from './auth/attempt-store.js';
import { LoginXsrf } from './auth/login-xsrf.js';
import { UserDirectory } from './auth/user-directory.js';
import { createXsrf } from './auth/xsrf.js';
import type { HubContext } from './context.js';
import { loadCookieSecret } from './cookie-secret.js';
import { hubDatabaseFile, openHubDatabase } from './db.js';
import { GroupDirectory } from './groups/group-directory.js';
import { GroupProperties } from './groups/group-properties.js';
import { GroupStore } from './groups/group-store.js';
import { homeAdminPages } from './pages/home-admin.js';
import { loginPages } from './pages/login.js';
import { monitorPages } from './pages/monitor.js';
import { messagePage, STATIC_MOUNT } from './pages/render.js';
import { Permissions } from './roles/permissions.js';
import { LiveSockets } from './routing/live-sockets.js';
import { frontDoor, notAnswering } from './routing/front-door.js';
import { upgradeHandler } from './routing/upgrade.js';
import { userRoute } from './routing/user-route.js';
import { ServerControl } from './servers.js';
import { readSiteSettings, watchSiteSettings } from './site-settings.js';
import { HubServices } from './services/hub-services.js';
import { SqliteSessionStore } from './sessions/sqlite-store.js';
import { serviceTokenFor, ServiceTokens } from './tokens/service-tokens.js';
import { TokenStore } from './tokens/token-store.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const VIEWS_DIR = `${REPO}views`;
export const SESSION_COOKIE = 'flotilla-session';
const LOGIN_XSRF_COOKIE = 'flotilla-login-xsrf';
const DAY_MS = 86_400_000;
/** How long clients of proxied WebSockets get to answer the hub's close frame on shutdown. */
const SOCKET_GOODBYE_MS = 2_000;

export interface HubOptions {
  logger?: Logger;
  /** Replaces JupyterHub.authenticator.login_limits (tests use small limits and windows). */
  loginLimits?: LoginLimits;
  /** Allow a missing or empty hub.sqlite although the hub has run before (`hub --start-fresh`). */
  startFresh?: boolean;
  /**
   * hub.sqlite turned out damaged while running (the error names the file). The hub answers
   * 500 meanwhile; the caller is expected to stop it: going on would lose or garble state.
   */
  onDatabaseDamage?: (err: DatabaseError) => void;
  /**
   * How a workflow server is started, instead of `flotillaServerArgv`: benchmarks add V8 flags
   * (`--cpu-prof`) to what it returns. Never from configuration: it names what runs.
   */
  serverArgv?: (launch: ServerLaunch) => string[];
}

export interface Hub {
  app: express.Express;
  server: Server;
  context: HubContext;
  /** Starts listening (bind_url's host and port unless given) and adopts running servers. */
  listen(port?: number, host?: string): Promise<AddressInfo>;
  /** Stops listening and releases everything; running workflow servers are left running. */
  close(): Promise<void>;
}

/**
 * Builds a hub from a loaded site configuration. Throws before anything listens when the
 * configuration cannot work (cookie secret readable by others, unknown scopes in roles).
 */
export function createHub(config: SiteConfig, options: HubOptions = {}): Hub {
  const hubConf = config.JupyterHub;
  const logger = options.logger ?? silentLogger();
  const bind = new URL(hubConf.bind_url);
  const https = bind.protocol === 'https:';
  // Under https the browser holds the cookies to Secure, Path=/ and this host only (no Domain).
  const cookiePrefix = https ? '__Host-' : '';
  const sessionCookie = cookiePrefix + SESSION_COOKIE;
  const loginXsrfCookie = cookiePrefix + LOGIN_XSRF_COOKIE;
  if (!hubConf.public_url && ['0.0.0.0', '[::]'].includes(bind.hostname)) {
    logger.warn({ bind_url: hubConf.bind_url }, 'no browser uses bind_url as its address: set JupyterHub.public_url, or live pages cannot open their WebSockets');
  }
  const secret = loadCookieSecret(hubConf.cookie_secret_file);
  const db = openHubDatabase(hubConf.data_dir, options.startFresh ? { startFresh: true } : {});
  const cleanups: (() => void)[] = [() => db.close()];
  try {
    const users = new UserDirectory(new HtpasswdFile(hubConf.authenticator.htpasswd_file), hubConf.authenticator, logger);
    cleanups.unshift(() => users.close());
    const groups = new GroupDirectory(new GroupStore(db), hubConf.load_groups, config.WorkflowServer.system_groups, users, logger);
    const permissions = new Permissions(
      hubConf.load_roles,
      { exists: (u) => users.exists(u), isAdmin: (u) => users.isAdmin(u), groupsOf: (u) => groups.groupsOf(u) },
      new Set(hubConf.services.map((s) => s.name)),
    );
    const serviceTokens = new ServiceTokens(hubConf.services);
    const isolation = isolationForSite(config, db, logger.child({ part: 'spawner' }));
    const spawner = new Spawner({
      db,
      dataDir: hubConf.data_dir,
      site: readSiteSettings(config.file),
      hubOrigin: bind.origin,
      startTimeoutMs: hubConf.spawner.start_timeout * 1000,
      httpTimeoutMs: hubConf.spawner.http_timeout * 1000,
      pollIntervalMs: hubConf.spawner.poll_interval * 1000,
      stopGraceMs: hubConf.spawner.stop_grace * 1000,
      idleTimeoutMs: hubConf.spawner.idle_timeout * 1000,
      isolation,
      logger: logger.child({ part: 'spawner' }),
      ...(options.serverArgv ? { serverArgv: options.serverArgv } : {}),
    });
    cleanups.unshift(() => spawner.close());
    const siteWatch = watchSiteSettings(config.file, logger, (site) => void spawner.pushSite(site));
    cleanups.unshift(() => siteWatch?.close());
    const activity = new UserActivity(db);
    cleanups.unshift(() => activity.close());
    activity.ensureAccounts(users.list());
    const headerList = securityHeaderList(https);
    const meter = new ActivityMeter({ server: (owner) => spawner.touch(owner), user: (owner, at) => activity.record(owner, at) });
    const proxy = new UserProxy({
      spawner,
      sessionCookieName: sessionCookie,
      otherHubCookies: [loginXsrfCookie],
      timeoutMs: hubConf.spawner.http_timeout * 1000,
      onActivity: (owner) => meter.record(owner),
      unavailable: (req, res, owner) =>
        messagePage(ctx, req as Request, res as Response, 503, 'Server not answering', notAnswering(owner), wantsJson(req as Request)),
      logger: logger.child({ part: 'proxy' }),
    });
    cleanups.unshift(() => proxy.close());
    const store = new SqliteSessionStore(db, hubConf.cookie_max_age_days * DAY_MS);
    cleanups.unshift(() => store.close());
    const tokens = new TokenStore(db);
    const services = new HubServices({
      services: hubConf.services,
      tokenFor: (name) => serviceTokenFor(serviceTokens, name),
      db,
      dataDir: hubConf.data_dir,
      // Half of stop_grace: the hub's own exit (within stop_grace) must not leave a service behind.
      stopGraceMs: (hubConf.spawner.stop_grace * 1000) / 2,
      logger: logger.child({ part: 'services' }),
    });
    const databaseFile = hubDatabaseFile(hubConf.data_dir);
    const servers = new ServerControl(spawner, logger);
    let closed = false;
    const leftovers = { users, tokens, sessions: store, servers, logger, open: () => !closed };
    const ctx: HubContext = {
      config,
      users,
      groups,
      groupProperties: new GroupProperties(db),
      permissions,
      tokens,
      serviceTokens,
      activity,
      services,
      servers,
      clearAccount: (name) => clearAccount(leftovers, name),
      proxy,
      xsrf: createXsrf(),
      loginLimiter: new LoginLimiter(options.loginLimits ?? hubConf.authenticator.login_limits, Date.now, new LoginAttemptStore(db)),
      loginXsrf: new LoginXsrf(secret, loginXsrfCookie, https),
      logger,
      origin: bind.origin,
      publicOrigins: new Set(hubConf.public_url ?? [bind.origin]),
      internalError(what, err) {
        if (!isDatabaseDamage(err)) {
          logger.error({ err: errorMessage(err) }, what);
          return;
        }
        const named = explainDatabaseError(databaseFile, err);
        logger.fatal({ err: named.message }, what);
        options.onDatabaseDamage?.(named);
      },
    };
    const clearDeparted = () => clearDepartedAccounts(leftovers);

    const liveSockets = new LiveSockets(logger.child({ part: 'websockets' }), (owner) => meter.record(owner));
    cleanups.unshift(() => liveSockets.close());
    const membershipChanged = (membership: Record<string, string[]>) => {
      permissions.invalidate();
      void spawner.pushMembership(membership, users.list());
      void liveSockets.recheck();
    };
    groups.on('change', membershipChanged);
    users.on('change', () => {
      activity.ensureAccounts(users.list());
      permissions.invalidate();
      void groups.refreshSystemGroups();
      // Servers learn the new account list for their sharing warnings (membership may be unchanged).
      void spawner.pushMembership(groups.membership(), users.list());
      void liveSockets.recheck();
      clearDeparted().catch((err: Error) => logger.error({ err: err.message }, 'cannot clear what departed accounts left behind'));
    });

    const sessions = session({
      name: sessionCookie,
      secret,
      store,
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: 'lax', secure: https, maxAge: hubConf.cookie_max_age_days * DAY_MS, path: '/' },
    });

    const auth = new passport.Passport();
    auth.use(
      new LocalStrategy((username, password, done) => {
        users.verify(username, password).then((ok) => done(null, ok ? { name: username } : false), done);
      }),
    );
    auth.serializeUser<string>((user, done) => done(null, user.name));
    auth.deserializeUser<string>((name, done) => done(null, users.exists(name) ? { name } : false));

    const app = express();
    app.disable('x-powered-by');
    renderPagesFrom(app, VIEWS_DIR);
    // The hub speaks plain HTTP; with an https bind_url, TLS ends in a proxy on this machine,
    // whose X-Forwarded-Proto tells express-session that the Secure cookie may be sent.
    app.set('trust proxy', https ? 'loopback' : false);
    app.use(securityHeaders(headerList));

    app.use((req: Request, res: Response, next: NextFunction) => {
      if (hasTokenInQuery(req.originalUrl)) res.status(400).json({ status: 400, message: TOKEN_IN_URL_MESSAGE });
      else next();
    });
    app.use(sessions);
    app.use(auth.initialize());
    app.use(auth.session());
    app.use((req: Request, res: Response, next: NextFunction) => {
      const result = authenticate(req, req.user?.name, tokens, users, serviceTokens);
      if (!result.ok) {
        res.status(401).json({ status: 401, message: result.message });
        return;
      }
      if (result.caller) {
        req.caller = result.caller;
        // Signed-in use of the hub is the user's activity, as in JupyterHub (memory only here).
        activity.record(result.caller.user);
      }
      if (result.service !== undefined) req.service = result.service;
      next();
    });
    app.use('/user', userRoute(ctx));
    app.use(STATIC_MOUNT, staticAssets());
    app.use('/hub/api', hubApi(ctx));
    app.get(['/', '/hub', '/hub/'], (_req, res) => res.redirect(302, '/hub/home'));
    app.use(loginPages(ctx, auth, sessionCookie));
    app.use(homeAdminPages(ctx));
    app.use(monitorPages(ctx));
    app.use((req: Request, res: Response) => {
      messagePage(ctx, req, res, 404, 'Not found', `Nothing here: ${req.path.slice(0, 200)}`, wantsJson(req));
    });
    app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
      const e = err as { status?: number; message?: string };
      const status = e.status && e.status >= 400 && e.status < 500 ? e.status : 500;
      if (status === 500) ctx.internalError(`hub error on ${req.path.slice(0, 200)}`, err);
      if (res.headersSent) return void res.end();
      messagePage(ctx, req, res, status, status === 500 ? 'Error' : 'Refused', status === 500 ? 'Something went wrong in the hub.' : (e.message ?? 'Refused'), wantsJson(req));
    });

    const server = createServer(frontDoor(ctx, headerList, app));
    server.on('upgrade', upgradeHandler(ctx, sessions, store, liveSockets));

    return {
      app,
      server,
      context: ctx,
      async listen(port = Number(bind.port || (bind.protocol === 'https:' ? 443 : 80)), host = bind.hostname) {
        await spawner.adoptAll();
        await clearDeparted();
        await groups.refreshSystemGroups();
        await spawner.pushMembership(groups.membership(), users.list());
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port, host, () => {
            server.off('error', reject);
            resolve();
          });
        });
        const address = server.address() as AddressInfo;
        // Listening elsewhere than bind_url (tests, port 0): without public_url, browsers reach the hub there.
        if (!hubConf.public_url) ctx.publicOrigins = new Set([listenedOrigin(bind, host, address.port)]);
        await services.start({ host, port: address.port });
        return address;
      },
      async close() {
        if (closed) return;
        closed = true;
        // Stop accepting (idle connections close now, busy ones after their answer), say goodbye
        // on the upgraded sockets, which the HTTP server no longer tracks but which keep its
        // close from completing, then cut whatever is still going.
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        await Promise.all([services.stop(), liveSockets.goingAway(Math.min(SOCKET_GOODBYE_MS, hubConf.spawner.stop_grace * 1000))]);
        server.closeAllConnections();
        await stopped;
        for (const cleanup of cleanups) cleanup();
      },
    };
  } catch (err) {
    for (const cleanup of cleanups) cleanup();
    throw err;
  }
}

/** The origin of the hub listening on `host`:`port` under bind_url's scheme. */
function listenedOrigin(bind: URL, host: string, port: number): string {
  const url = new URL(bind.origin);
  url.hostname = host.includes(':') ? `[${host}]` : host;
  url.port = String(port);
  return url.origin;
}
