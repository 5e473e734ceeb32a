/**
 * GraphQL over WebSocket (graphql-ws, protocol `graphql-transport-ws`) at `/user/O/subscriptions`.
 *
 * Checks happen on the raw upgrade, before any stream exists: a valid proof for `req.url`, an
 * Origin equal to the hub's own (browsers always send one; scripts may send none), and `read`
 * server-wide or on some workflow. The identity is bound to the socket at the upgrade; the
 * connection_init payload is ignored, so a client cannot replace who it is. Each subscribe is
 * decided again through decisions.ts (groups always come from the latest membership), mutations
 * are refused on this channel (they go over HTTP, where the hub enforces XSRF), and whenever
 * permissions change every socket whose user lost `read` everywhere is closed with 4403, then
 * every live stream still open looks again: `deltas` prunes the workflows no longer readable (and
 * adds those newly readable), `permissions` sends the new permissions (the same recompute feeds
 * all of them, in that order).
 *
 * Results of subscriptions are written by subscription-frames.ts rather than graphql-ws: a delta
 * that many subscribers receive is executed and serialised once per document for all of them
 * (which deltas each receives is still decided by its own stream), and goes out as one frame
 * whose shared part is not copied per socket.
 *
 * Caps (`WorkflowServer.limits`): a user's socket past `sockets_per_user` is refused at the upgrade
 * with 429; a subscribe past `subscriptions_per_socket` gets a graphql-ws `error` message for that
 * id (code `SUBSCRIPTION_LIMIT`) while the socket and its other subscriptions carry on; each
 * subscribe is priced like an HTTP request (src/graphql/cost.ts) and refused the same way.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError, getVariableValues, type GraphQLSchema } from '../graphql/graphql-js.js';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { analyseDocument } from '../graphql/analyse.js';
import { measureCost } from '../graphql/cost.js';
import { isDeltaEvent } from '../graphql/delta-stream.js';
import type { GraphqlContext } from '../graphql/resolvers.js';
import type { ChangeFeed } from '../graphql/viewer.js';
import { oversizedResult, ResponseMeter } from '../graphql/response-size.js';
import type { Identity, ProofVerifier } from '../identity/proof.js';
import type { Logger } from '../util/logger.js';
import type { AccessControl } from './access.js';
import type { DecisionMaker } from './decisions.js';
import { refuseDocument } from './graphql-route.js';
import { verifyRequest } from './identity.js';
import { MAX_GRAPHQL_BYTES, type ServerLimits } from './limits.js';
import { refuseUpgrade } from '../util/refuse-upgrade.js';
import { WS_DEFLATE_OPTIONS } from './compressed-messages.js';
import { SubscriptionFrames } from './subscription-frames.js';

export const CLOSE_FORBIDDEN = 4403;

export interface SubscriptionOptions {
  server: Server;
  path: string;
  hubOrigin: string;
  schema: GraphQLSchema;
  rootValue: Record<string, unknown>;
  verifier: ProofVerifier;
  access: AccessControl;
  decisions: DecisionMaker;
  logger: Logger;
  limits: ServerLimits;
}

export interface Subscriptions {
  /** Open sockets, for tests and health. */
  readonly size: number;
  /** Results serialised for subscribers so far (a delta shared by many: once per document). */
  readonly serialised: number;
  close(): Promise<void>;
}

export function attachSubscriptions(options: SubscriptionOptions): Subscriptions {
  const { access, decisions, logger, limits } = options;
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_GRAPHQL_BYTES, perMessageDeflate: WS_DEFLATE_OPTIONS });
  const identities = new WeakMap<WebSocket, Identity>();
  const open = new Set<WebSocket>();
  /** Sockets per user, counted from the accepted upgrade until the connection closes. */
  const socketsOf = new Map<string, number>();
  /** Live streams (`deltas`, `permissions`), called after each recompute. */
  const watchers = new Set<() => void>();
  const changes: ChangeFeed = {
    onChange: (listener) => {
      watchers.add(listener);
      return () => watchers.delete(listener);
    },
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const target = req.url ?? '';
    const path = target.split('?')[0];
    const proof = verifyRequest(options.verifier, req, target);
    if (!proof.ok) {
      logger.warn({ target, reason: proof.reason }, 'websocket refused: no valid proof of identity');
      refuseUpgrade(socket, 401, 'no valid proof of identity from the hub');
      return;
    }
    const identity = proof.identity;
    if (path !== options.path || identity.user === null) {
      refuseUpgrade(socket, 404, 'not found');
      return;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== options.hubOrigin) {
      logger.warn({ user: identity.user, origin }, 'websocket refused: Origin is not the hub');
      refuseUpgrade(socket, 403, 'the Origin must be the hub');
      return;
    }
    if (!decisions.open(identity, 'subscriptions (upgrade)')) {
      refuseUpgrade(socket, 403, 'no access to this server');
      return;
    }
    if (socket.destroyed) return;
    const user = identity.user;
    const sockets = socketsOf.get(user) ?? 0;
    if (sockets >= limits.sockets_per_user) {
      logger.warn({ user, sockets }, 'websocket refused: too many open sockets for this user');
      refuseUpgrade(socket, 429, `at most ${limits.sockets_per_user} open sockets per user (WorkflowServer.limits.sockets_per_user)`);
      return;
    }
    // Counted now, not once the handshake completes, so that a burst of upgrades cannot slip past.
    socketsOf.set(user, sockets + 1);
    socket.once('close', () => {
      const left = (socketsOf.get(user) ?? 1) - 1;
      if (left > 0) socketsOf.set(user, left);
      else socketsOf.delete(user);
    });
    wss.handleUpgrade(req, socket, head, (ws) => {
      identities.set(ws, identity);
      open.add(ws);
      ws.once('close', () => open.delete(ws));
      wss.emit('connection', ws, req);
    });
  };
  options.server.on('upgrade', onUpgrade);

  const identityOf = (ws: WebSocket): Identity => {
    const identity = identities.get(ws);
    if (!identity) throw new Error('socket without identity');
    return identity;
  };

  const frames = new SubscriptionFrames(isDeltaEvent);
  const disposable = useServer<Record<string, unknown> | undefined, { socket: WebSocket }>(
    {
      schema: options.schema,
      // A delta many subscribers receive is executed and serialised once (subscription-frames.ts).
      subscribe: frames.subscribe,
      // The payload is deliberately not looked at: identity comes from the upgrade's proof only.
      onConnect: () => true,
      onSubscribe: (ctx, id, payload) => {
        // graphql-ws has already registered this one, so the count includes it.
        if (Object.keys(ctx.subscriptions).length > limits.subscriptions_per_socket) {
          return [
            new GraphQLError(
              `Too many subscriptions on this socket: at most ${limits.subscriptions_per_socket} at once (WorkflowServer.limits.subscriptions_per_socket); complete some first.`,
              { extensions: { code: 'SUBSCRIPTION_LIMIT', limit: limits.subscriptions_per_socket } },
            ),
          ];
        }
        const identity = identityOf(ctx.extra.socket);
        const analysis = analyseDocument(options.schema, payload.query, payload.operationName);
        if (!analysis.ok) return analysis.errors;
        if (analysis.kind === 'mutation') {
          return [new GraphQLError('Mutations are not accepted over WebSocket; send them over HTTP to graphql.')];
        }
        const refused = refuseDocument(options.schema, decisions, identity, analysis, payload.variables, 'subscriptions');
        if (refused) return refused.errors;
        const cost = measureCost(options.schema, analysis.document, analysis.operation, payload.variables, limits);
        if (!cost.ok) return cost.errors;
        const contextValue: GraphqlContext = {
          identity,
          viewer: decisions.viewer(identity),
          changes,
          meter: new ResponseMeter(limits.response_bytes),
        };
        // From the variables as coerced: spellings that mean the same (a list of one or the item) share.
        const variables = getVariableValues(options.schema, analysis.operation.variableDefinitions ?? [], payload.variables ?? {});
        if (variables.errors) return variables.errors;
        const documentKey = JSON.stringify([payload.query, payload.operationName ?? null, variables.coerced]);
        frames.bind(contextValue, { socket: ctx.extra.socket, id, documentKey });
        return {
          schema: options.schema,
          document: analysis.document,
          operationName: payload.operationName ?? null,
          variableValues: payload.variables ?? null,
          rootValue: options.rootValue,
          contextValue,
        };
      },
      // Queries may come over the socket too; their one result gets the same size cap as over HTTP.
      onOperation: (_ctx, _id, _payload, args, result) => {
        const oversized = oversizedResult(args.contextValue, result);
        return oversized ? { errors: [oversized] } : undefined;
      },
    },
    wss,
  );

  const recheck = (): void => {
    for (const ws of open) {
      if (!decisions.stillOpen(identities.get(ws))) ws.close(CLOSE_FORBIDDEN, 'Forbidden: read permission revoked');
    }
    for (const watcher of [...watchers]) watcher();
  };
  access.on('change', recheck);

  return {
    get size() {
      return open.size;
    },
    get serialised() {
      return frames.serialised;
    },
    async close() {
      access.off('change', recheck);
      options.server.off('upgrade', onUpgrade);
      for (const ws of open) ws.close(1001, 'server shutting down');
      await disposable.dispose();
      wss.close();
    },
  };
}
