/**
 * Root resolvers: each maps one GraphQL field to one engine call. The server has already refused
 * any document holding an operation the user lacks; each resolver checks again (defence in depth,
 * so a path that skipped the analysis still fails closed).
 */
import { GraphQLError } from './graphql-js.js';
import { OPERATIONS, graphqlName, graphqlNames, type Operation } from '../authz/index.js';
import type { Identity } from '../identity/proof.js';
import type { WorkflowEngine } from '../scheduler/index.js';
import type { JobLogFile } from '../scheduler/types.js';
import { jobLogByteBound } from './cost.js';
import { deltaStream } from './delta-stream.js';
import { permissionStream, type PermissionFeed } from './permission-stream.js';
import type { ResponseMeter } from './response-size.js';

// A type alias, not an interface: graphql-http needs a context assignable to Record<PropertyKey, unknown>.
export type GraphqlContext = {
  identity: Identity;
  /** The user's permitted operations, worked out for this request. */
  permitted: ReadonlySet<Operation>;
  /** This request's response-size cap, charged by the fields that read files. */
  meter: ResponseMeter;
  /** On subscription sockets only: the user's permissions as they change (Subscription.permissions). */
  permissionFeed?: PermissionFeed;
};

export function forbiddenError(op: Operation): GraphQLError {
  return new GraphQLError(`Forbidden: you may not "${op}" on this server.`, {
    extensions: { code: 'FORBIDDEN', operation: op },
  });
}

function demand(ctx: GraphqlContext, op: Operation): void {
  if (!ctx.permitted.has(op)) throw forbiddenError(op);
}

const LOG_FILES: readonly JobLogFile[] = ['job.out', 'job.err'];

export function createRootValue(engine: WorkflowEngine, owner: string): Record<string, unknown> {
  const root: Record<string, unknown> = {
    me: (_args: unknown, ctx: GraphqlContext) => {
      demand(ctx, 'read');
      return {
        username: ctx.identity.user,
        owner,
        groups: ctx.identity.groups,
        permissions: graphqlNames(ctx.permitted),
      };
    },
    workflows: (_args: unknown, ctx: GraphqlContext) => {
      demand(ctx, 'read');
      return engine.listWorkflows();
    },
    workflow: ({ id }: { id: string }, ctx: GraphqlContext) => {
      demand(ctx, 'read');
      return engine.getWorkflow(id) ?? null;
    },
    jobLog: (
      args: { workflow: string; task: string; submitNum?: number; file: string; tail?: number },
      ctx: GraphqlContext,
    ) => {
      demand(ctx, 'read');
      const file = LOG_FILES.find((f) => f === args.file);
      if (!file) throw new GraphQLError(`jobLog: file must be "job.out" or "job.err", not ${JSON.stringify(args.file)}.`);
      // Once the response is over its cap, read nothing more: the whole request will be refused.
      ctx.meter.charge(0);
      const log = engine.jobLog({
        workflow: args.workflow,
        task: args.task,
        file,
        maxBytes: jobLogByteBound(args.tail),
        ...(args.submitNum != null ? { submitNum: args.submitNum } : {}),
        ...(args.tail != null ? { tail: args.tail } : {}),
      });
      ctx.meter.charge(Buffer.byteLength(log.content));
      return log;
    },
    workflowLog: ({ workflow, limit }: { workflow: string; limit: number }, ctx: GraphqlContext) => {
      demand(ctx, 'read');
      return engine.workflowLog(workflow, limit);
    },
    deltas: ({ workflows }: { workflows?: string[] | null }, ctx: GraphqlContext) => {
      demand(ctx, 'read');
      return deltaStream(engine, workflows ?? null);
    },
    permissions: (_args: unknown, ctx: GraphqlContext) => {
      demand(ctx, 'read');
      if (!ctx.permissionFeed) throw new GraphQLError('permissions: subscribe over the WebSocket (subscriptions), not over HTTP.');
      return permissionStream(ctx.permissionFeed);
    },
  };
  for (const op of OPERATIONS) {
    if (op === 'read') continue;
    root[graphqlName(op)] = (
      { workflows, tasks, ...args }: { workflows: string[]; tasks?: string[] | null } & Record<string, unknown>,
      ctx: GraphqlContext,
    ) => {
      demand(ctx, op);
      return engine.command(op, {
        workflows,
        ...(tasks ? { tasks } : {}),
        args,
        by: ctx.identity.user ?? 'hub',
      });
    };
  }
  return root;
}
