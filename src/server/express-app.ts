/**
 * The express side of a workflow server under `/user/O/`: pages, the REST API, GraphQL over HTTP
 * (loaded on first use, see lazy-graphql.ts), job files and the hub's control endpoints, behind
 * the identity check. Loaded by the first request the front door does not answer (see app.ts).
 */
import type { RequestListener } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { GraphQLSchema } from '../graphql/graphql-js.js';
import type { ProofVerifier } from '../identity/proof.js';
import type { WorkflowEngine } from '../scheduler/index.js';
import type { Logger } from '../util/logger.js';
import { renderPagesFrom } from '../util/page-views.js';
import { securityHeaders, type HeaderList } from '../util/security-headers.js';
import { staticAssets } from '../util/static-assets.js';
import type { AccessControl } from './access.js';
import { apiRoutes } from './api-routes.js';
import { controlRoutes } from './control-routes.js';
import type { DecisionMaker } from './decisions.js';
import { CONTROL_PREFIX, requireProof } from './identity.js';
import { jobFileRoute } from './job-file-route.js';
import type { LazyGraphql } from './lazy-graphql.js';
import { describeBytes, MAX_GRAPHQL_BYTES } from './limits.js';
import { pageRoutes, renderNotFound } from './page-routes.js';
import type { Subscriptions } from './subscriptions.js';

/** The repository root, for views/ and static/ (dist/server or src/server → two levels up). */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** GraphQL over HTTP: its handler, and the schema and root value the WebSocket side shares. */
export interface GraphqlHttp {
  schema: GraphQLSchema;
  rootValue: Record<string, unknown>;
  handler: express.RequestHandler;
}

export interface ExpressAppOptions {
  owner: string;
  /** `/user/OWNER/` */
  base: string;
  dataDir: string;
  hubOrigin: string;
  headers: HeaderList;
  verifier: ProofVerifier;
  identityLogger: Logger;
  logger: Logger;
  access: AccessControl;
  decisions: DecisionMaker;
  engine: WorkflowEngine;
  graphql: LazyGraphql<GraphqlHttp, Subscriptions>;
}

export function expressApp(options: ExpressAppOptions): RequestListener {
  const { owner, base, dataDir, headers, verifier, identityLogger, logger, access, decisions, engine, graphql } = options;
  const workflowExists = (workflow: string): boolean => engine.hasWorkflow(workflow);
  const app = express();
  app.disable('x-powered-by');
  renderPagesFrom(app, join(ROOT, 'views'));
  app.use(securityHeaders(headers));
  app.use(requireProof(verifier, identityLogger));
  app.use(CONTROL_PREFIX, controlRoutes(access));
  // express matches `/user/O` and `/user/O/` alike; only the bare one needs sending on.
  app.get(base.slice(0, -1), (req, res, next) => {
    if (req.originalUrl.split('?')[0] === base.slice(0, -1)) res.redirect(base);
    else next();
  });
  app.use(`${base}static`, staticAssets());
  app.use(`${base}api`, apiRoutes(access, decisions, dataDir, workflowExists));
  app.use(`${base}graphql`, express.json({ limit: MAX_GRAPHQL_BYTES, type: ['application/json', 'application/graphql-response+json'] }));
  // The first GraphQL request loads GraphQL (see loadGraphqlHttp) and waits for its HTTP side; if it cannot load, they fail.
  app.all(`${base}graphql`, (req, res, next) => {
    graphql
      .http()
      .then((http) => http.handler(req, res, next))
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

  return app;
}
