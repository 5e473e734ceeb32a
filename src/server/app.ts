/**
 * The workflow server of one owner on a loopback HTTP server: its engine and access rules, the
 * front door for the hottest requests, and, each loaded when first needed, the express app under
 * `/user/O/` (pages, the REST API, the hub's control endpoints; express-app.ts) and GraphQL over
 * HTTP and WebSocket.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import { isIP } from 'node:net';
import { ownerConfigPath, ownerDir } from '../config/owner.js';
import type { PlatformConfig } from '../config/site.js';
import { ProofVerifier, type Identity } from '../identity/proof.js';
import { WorkflowEngine } from '../scheduler/index.js';
import type { Logger } from '../util/logger.js';
import { AccessControl } from './access.js';
import { DecisionMaker } from './decisions.js';
import type { GraphqlHttp } from './express-app.js';
import { serverFrontDoor } from './front-door.js';
import { CONTROL_PREFIX } from './identity.js';
import { serverLimits, type ServerLimits } from './limits.js';
import { LazyGraphql } from './lazy-graphql.js';
import { health, userProfile, type Answer } from './quick-answers.js';
import type { SubscriptionOptions, Subscriptions } from './subscriptions.js';
import { watchFile } from '../util/watch-file.js';
import type { Membership, SiteSettings } from '../identity/launch.js';
import { securityHeaderList } from '../util/security-headers.js';
import { SERVER_KEEP_ALIVE_MS } from '../util/keep-alive.js';

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
  /**
   * Loads the pages (express and what runs behind it) now, in the background: for a server the
   * hub started because someone opened one of its pages, whose request is on its way. The load
   * then overlaps the hub's hand-over to the browser instead of following the request; a server
   * started otherwise keeps loading them on first use, and its idle memory stays low.
   */
  preparePages(): void;
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/**
 * GraphQL over HTTP and WebSocket is most of the code a server loads (graphql, graphql-http,
 * graphql-ws, ws, the schema): a third of its start-up CPU and several MB. It is loaded when first
 * needed (a GraphQL request or socket, or a page, whose script asks for it next), so that the server
 * listens sooner, a server used only through the REST API never loads it, and its loading (long
 * stretches without a turn of the event loop) does not hold up the first answers. The schema is
 * built once. The HTTP side loads first (see LazyGraphql): a page's first query need not wait for
 * ws and graphql-ws, about a quarter of the whole.
 */
async function loadGraphqlHttp(engine: WorkflowEngine, owner: string, decisions: DecisionMaker, limits: ServerLimits): Promise<GraphqlHttp> {
  const [{ buildWorkflowSchema }, { createRootValue }, { graphqlHandler }] = await Promise.all([
    import('../graphql/schema.js'),
    import('../graphql/resolvers.js'),
    import('./graphql-route.js'),
  ]);
  const schema = buildWorkflowSchema();
  const rootValue = createRootValue(engine, owner);
  return { schema, rootValue, handler: graphqlHandler(schema, rootValue, decisions, limits) };
}

async function loadSubscriptions({ schema, rootValue }: GraphqlHttp, options: Omit<SubscriptionOptions, 'schema' | 'rootValue'>): Promise<Subscriptions> {
  const { attachSubscriptions } = await import('./subscriptions.js');
  return attachSubscriptions({ ...options, schema, rootValue });
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
  const limits: ServerLimits = serverLimits(options.limits);

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
  // Settings the hub pushes later apply at once: the same limits object is read at each use.
  access.followSettings((settings) => {
    Object.assign(limits, serverLimits(settings.limits));
    engine.applySettings({ concurrency: settings.max_concurrent_jobs, stallTimeoutSeconds: settings.stall_timeout });
    logger.info('site limits, job width and stall timeout applied');
  });

  const headers = securityHeaderList(new URL(hubOrigin).protocol === 'https:');
  const identityLogger = logger.child({ part: 'identity' });
  // express and what runs behind it (pages, the REST API, GraphQL over HTTP, the hub's pushes) are
  // loaded by the first request the front door does not answer: an idle server, asked only for its
  // health, never loads them. A failed load stops the server, as a failed GraphQL load does.
  let expressApp: Promise<RequestListener> | undefined;
  const loadExpressApp = (): Promise<RequestListener> =>
    (expressApp ??= import('./express-app.js').then(
      ({ expressApp: build }) =>
        build({ owner, base, dataDir: options.dataDir, hubOrigin, headers, verifier, identityLogger, logger, access, decisions, engine, graphql }),
      (err: Error) => stopDamaged(err, `its pages and API could not be loaded (${err.message})`),
    ));
  const viaExpress: RequestListener = (req, res) => {
    void loadExpressApp().then((app) => app(req, res));
  };
  const answers = new Map<string, (identity: Identity) => Answer>([
    [`${base}api/userprofile`, (identity) => userProfile(access, decisions, identity)],
    [`${CONTROL_PREFIX}health`, () => health(owner)],
  ]);
  const server = createServer(serverFrontDoor({ verifier, logger: identityLogger, headers, answers }, viaExpress));
  // Longer than the hub keeps an idle connection, so that the hub closes it (see keep-alive.ts).
  server.keepAliveTimeout = SERVER_KEEP_ALIVE_MS;
  // GraphQL, loaded by the first request, socket or page that needs it (see loadGraphqlHttp).
  const graphql = new LazyGraphql({
    server,
    logger,
    loadHttp: () => loadGraphqlHttp(engine, owner, decisions, limits),
    load: (http) =>
      loadSubscriptions(http, {
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
      return graphql.loaded?.size ?? 0;
    },
    get serialised() {
      return graphql.loaded?.serialised ?? 0;
    },
    async close() {
      await (await graphql.settled())?.close();
    },
  };

  return {
    url,
    port,
    server,
    access,
    engine,
    subscriptions,
    preparePages() {
      void loadExpressApp();
    },
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
