/**
 * The workflow server of one owner: an express app under `/user/O/`, GraphQL over HTTP and
 * WebSocket, pages, the REST API and the hub's control endpoints, on a loopback HTTP server.
 */
import { createServer, type Server } from 'node:http';
import { isIP } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type Response } from 'express';
import { ownerConfigPath, ownerDir, type PlatformConfig } from '../config/index.js';
import { ProofVerifier } from '../identity/proof.js';
import { WorkflowEngine } from '../scheduler/index.js';
import type { Logger } from '../util/logger.js';
import { AccessControl } from './access.js';
import { apiRoutes, userProfile } from './api-routes.js';
import { controlRoutes } from './control-routes.js';
import { DecisionMaker } from './decisions.js';
import { serverFrontDoor } from './front-door.js';
import { CONTROL_PREFIX, requireProof } from './identity.js';
import { DEFAULT_SERVER_LIMITS, describeBytes, MAX_GRAPHQL_BYTES, type ServerLimits } from './limits.js';
import { jobFileRoute } from './job-file-route.js';
import { LazyGraphql } from './lazy-graphql.js';
import { pageRoutes, renderNotFound } from './page-routes.js';
import type { SubscriptionOptions, Subscriptions } from './subscriptions.js';
import { watchFile } from '../util/watch-file.js';
import type { Membership, SiteSettings } from '../identity/launch.js';
import { securityHeaderList, securityHeaders } from '../util/security-headers.js';
import { staticAssets } from '../util/static-assets.js';

/** The repository root, for views/ and static/ (dist/server or src/server → two levels up). */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface WorkflowServerOptions {
  owner: string;
  dataDir: string;
  /** The site settings from the hub; later changes arrive on the control endpoint. */
  site: SiteSettings;
  /** The hub's group membership at start, when it has one. */
  groups?: Membership | null;
  /** The hub's account names at start, when it sent them. */
  accounts?: string[] | null;
  secret: string;
  hubOrigin: string;
  host: string;
  port: number;
  logger: Logger;
  /** Active jobs per workflow (the site's max_concurrent_jobs). */
  concurrency?: number;
  /** The site's WorkflowServer.limits; each one left out takes its default. */
  limits?: Partial<ServerLimits>;
  /** Seconds a stalled workflow stays up (the site's stall_timeout); 0: for ever. */
  stallTimeout?: number;
  /** Where tasks run (the site's WorkflowServer.platforms), as at the server's start. */
  platforms?: Record<string, PlatformConfig>;
  /** Why this server may not submit to Slurm (see slurmAccountProblem); unset: it may. */
  slurmRefusal?: string;
}

export interface RunningWorkflowServer {
  url: string;
  port: number;
  server: Server;
  access: AccessControl;
  engine: WorkflowEngine;
  subscriptions: Subscriptions;
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/** What GraphQL adds to a server: its HTTP handler and its WebSocket subscriptions. */
interface GraphqlPart {
  handler: express.RequestHandler;
  subscriptions: Subscriptions;
}

/**
 * GraphQL over HTTP and WebSocket is most of the code a server loads (graphql, graphql-http,
 * graphql-ws, ws, the schema): a third of its start-up CPU and several MB. It is loaded when first
 * needed (a GraphQL request or socket, or a page, whose script asks for it next), so that the server
 * listens sooner, a server used only through the REST API never loads it, and its loading (long
 * stretches without a turn of the event loop) does not hold up the first answers. The schema is
 * built once.
 */
async function loadGraphql(engine: WorkflowEngine, owner: string, subscriptionOptions: Omit<SubscriptionOptions, 'schema' | 'rootValue'>): Promise<GraphqlPart> {
  const [{ buildWorkflowSchema }, { createRootValue }, { graphqlHandler }, { attachSubscriptions }] = await Promise.all([
    import('../graphql/schema.js'),
    import('../graphql/resolvers.js'),
    import('./graphql-route.js'),
    import('./subscriptions.js'),
  ]);
  const schema = buildWorkflowSchema();
  const rootValue = createRootValue(engine, owner);
  const { decisions, limits } = subscriptionOptions;
  return {
    handler: graphqlHandler(schema, rootValue, decisions, limits),
    subscriptions: attachSubscriptions({ ...subscriptionOptions, schema, rootValue }),
  };
}

export async function startWorkflowServer(options: WorkflowServerOptions): Promise<RunningWorkflowServer> {
  const { owner, logger } = options;
  /** Damage found at run time that the server cannot mend: it stops, and the hub sees it gone. */
  const stopDamaged = (err: Error, why: string): never => {
    logger.fatal({ err: err.message }, `workflow server stopping: ${why}`);
    process.exit(70);
  };
  if (!isLoopback(options.host)) throw new Error(`refusing to listen on ${options.host}: the workflow server listens on loopback only`);
  const hubOrigin = new URL(options.hubOrigin).origin;
  const base = `/user/${owner}/`;
  const limits: ServerLimits = { ...DEFAULT_SERVER_LIMITS, ...options.limits };

  const verifier = new ProofVerifier(options.secret, owner);
  const access = new AccessControl({ owner, dataDir: options.dataDir, site: options.site, logger: logger.child({ part: 'access' }) });
  if (options.groups) access.setMembership(options.groups, options.accounts ?? undefined);
  const decisions = new DecisionMaker(access, logger.child({ part: 'authz' }));
  const engine = new WorkflowEngine({
    ownerDir: ownerDir(options.dataDir, owner),
    logger: logger.child({ part: 'engine' }),
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
    ...(options.stallTimeout !== undefined ? { stallTimeoutSeconds: options.stallTimeout } : {}),
    ...(options.platforms ? { platforms: options.platforms } : {}),
    ...(options.slurmRefusal !== undefined ? { slurmRefusal: options.slurmRefusal } : {}),
    // A damaged engine database at run time: the message names the file; the server stops.
    onFatal: (err) => stopDamaged(err, 'its engine cannot go on'),
  });
  await engine.start();

  const workflowExists = (workflow: string): boolean => engine.getWorkflow(workflow) !== undefined;

  const app = express();
  app.disable('x-powered-by');
  app.set('views', join(ROOT, 'views'));
  app.set('view engine', 'ejs');
  const headerList = securityHeaderList(new URL(hubOrigin).protocol === 'https:');
  const identityLogger = logger.child({ part: 'identity' });
  app.use(securityHeaders(headerList));
  app.use(requireProof(verifier, identityLogger));
  app.use(CONTROL_PREFIX, controlRoutes(access));
  // express matches `/user/O` and `/user/O/` alike; only the bare one needs sending on.
  app.get(base.slice(0, -1), (req, res, next) => {
    if (req.originalUrl.split('?')[0] === base.slice(0, -1)) res.redirect(base);
    else next();
  });
  app.use(`${base}static`, staticAssets());
  app.use(`${base}api`, apiRoutes(access, decisions, options.dataDir, workflowExists));
  app.use(`${base}graphql`, express.json({ limit: MAX_GRAPHQL_BYTES, type: ['application/json', 'application/graphql-response+json'] }));
  // The first GraphQL request loads GraphQL (see loadGraphql) and waits for it; if it cannot load, they fail.
  app.all(`${base}graphql`, (req, res, next) => {
    graphql
      .get()
      .then((part) => part.handler(req, res, next))
      .catch(next);
  });
  app.use(base, jobFileRoute(engine, decisions));
  // A page's script asks for GraphQL next: it starts loading as soon as the page has been sent.
  app.use(base, (req, res, next) => {
    if (req.method === 'GET') graphql.loadAfter(res);
    next();
  });
  app.use(base, pageRoutes({ owner, base }, decisions, workflowExists));
  app.use((req, res) => {
    // Browsers get the product's page; API clients (and anything not asking for HTML) keep JSON.
    if (req.accepts(['json', 'html']) === 'html') renderNotFound(res, { owner, base });
    else res.status(404).json({ error: 'not found' });
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const e = err as { type?: string; status?: number; limit?: number; message?: string };
    if (e.type === 'entity.too.large') {
      res.status(413).json({ error: `request body too large: the limit here is ${describeBytes(e.limit ?? 0)}` });
    } else if (e.type === 'entity.parse.failed') {
      res.status(400).json({ error: `request body is not valid JSON: ${e.message}` });
    } else if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      res.status(e.status).json({ error: e.message ?? 'bad request' });
    } else {
      logger.error({ err: e.message }, 'request failed');
      res.status(500).json({ error: 'internal error' });
    }
  });

  const frontDoor = serverFrontDoor({ base, verifier, logger: identityLogger, headers: headerList, profile: (identity) => userProfile(access, decisions, identity) }, app);
  const server = createServer(frontDoor);
  // GraphQL, loaded by the first request, socket or page that needs it (see loadGraphql).
  const graphql = new LazyGraphql({
    server,
    logger,
    load: () =>
      loadGraphql(engine, owner, {
        server,
        path: `${base}subscriptions`,
        hubOrigin,
        verifier,
        access,
        decisions,
        logger: logger.child({ part: 'subscriptions' }),
        limits,
      }),
    onFatal: (err) => stopDamaged(err, `GraphQL could not be loaded (${err.message})`),
  });
  const ownerFile = watchFile(ownerConfigPath(options.dataDir, owner), () => {
    logger.info('owner configuration changed on disk; re-reading it');
    access.reloadOwnerFile();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  logger.info({ owner, url, port, base }, 'workflow server listening');

  const subscriptions: Subscriptions = {
    get size() {
      return graphql.loaded?.subscriptions.size ?? 0;
    },
    get serialised() {
      return graphql.loaded?.subscriptions.serialised ?? 0;
    },
    async close() {
      await (await graphql.settled())?.subscriptions.close();
    },
  };

  return {
    url,
    port,
    server,
    access,
    engine,
    subscriptions,
    async close() {
      ownerFile.close();
      await subscriptions.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await engine.close();
      verifier.close();
    },
  };
}
