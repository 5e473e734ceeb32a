/**
 * Root resolvers: each maps one GraphQL field to one engine call. The server has already refused
 * any document holding an operation the user lacks on a workflow it names; each resolver checks
 * again (defence in depth, so a path that skipped the analysis still fails closed). Lists, queries
 * and deltas show only the workflows the caller may read; naming another answers as if it did not
 * exist.
 */
import { GraphQLError } from './graphql-js.js';
import { OPERATIONS, graphqlName, type Operation } from '../authz/index.js';
import type { Identity } from '../identity/proof.js';
import { EngineUsageError, type WorkflowEngine } from '../scheduler/index.js';
import type { JobLogFile } from '../scheduler/types.js';
import { jobLogByteBound } from './cost.js';
import { deltaStream } from './delta-stream.js';
import { permissionStream, permissionsView } from './permission-stream.js';
import type { ResponseMeter } from './response-size.js';
import type { ChangeFeed, ViewerAccess } from './viewer.js';

// A type alias, not an interface: graphql-http needs a context assignable to Record<PropertyKey, unknown>.
export type GraphqlContext = {
  identity: Identity;
  /** What this identity may see and do, decided afresh at each call. */
  viewer: ViewerAccess;
  /** This request's response-size cap, charged by the fields that read files. */
  meter: ResponseMeter;
  /** On subscription sockets only: when permissions are recomputed (live filters, Subscription.permissions). */
  changes?: ChangeFeed;
};

export function forbiddenError(op: Operation, workflow?: string | null): GraphQLError {
  const where = workflow ? `on workflow "${workflow}"` : 'on this server';
  return new GraphQLError(`Forbidden: you may not "${op}" ${where}.`, {
    extensions: { code: 'FORBIDDEN', operation: op, ...(workflow ? { workflow } : {}) },
  });
}

/**
 * How a workflow the caller may not read is answered: exactly as one that does not exist (the
 * engine's own message and error), so that its existence is not disclosed.
 */
export function noSuchWorkflow(workflow: string): EngineUsageError {
  return new EngineUsageError(`no workflow "${workflow}"`, 'NOT_FOUND');
}

function demandOpen(ctx: GraphqlContext): void {
  if (!ctx.viewer.mayOpen()) throw forbiddenError('read');
}

function demandReadable(ctx: GraphqlContext, workflow: string): void {
  demandOpen(ctx);
  if (!ctx.viewer.mayRead(workflow)) throw noSuchWorkflow(workflow);
}

function liveChanges(ctx: GraphqlContext, field: string): ChangeFeed {
  if (!ctx.changes) throw new GraphQLError(`${field}: subscribe over the WebSocket (subscriptions), not over HTTP.`);
  return ctx.changes;
}

const LOG_FILES: readonly JobLogFile[] = ['job.out', 'job.err'];

export function createRootValue(engine: WorkflowEngine, owner: string): Record<string, unknown> {
  const root: Record<string, unknown> = {
    me: (_args: unknown, ctx: GraphqlContext) => {
      demandOpen(ctx);
      return { username: ctx.identity.user, owner, groups: ctx.viewer.groups(), ...permissionsView(ctx.viewer.summary()) };
    },
    workflows: (_args: unknown, ctx: GraphqlContext) => {
      demandOpen(ctx);
      return engine.listWorkflows().filter((w) => ctx.viewer.mayRead(w.id));
    },
    workflow: ({ id }: { id: string }, ctx: GraphqlContext) => {
      demandOpen(ctx);
      return ctx.viewer.mayRead(id) ? (engine.getWorkflow(id) ?? null) : null;
    },
    tasks: ({ workflow, ids }: { workflow: string; ids: string[] }, ctx: GraphqlContext) => {
      demandReadable(ctx, workflow);
      return engine.getTasks(workflow, ids);
    },
    jobLog: (
      args: { workflow: string; task: string; submitNum?: number; file: string; tail?: number },
      ctx: GraphqlContext,
    ) => {
      demandReadable(ctx, args.workflow);
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
      demandReadable(ctx, workflow);
      return engine.workflowLog(workflow, limit);
    },
    deltas: ({ workflows }: { workflows?: string[] | null }, ctx: GraphqlContext) => {
      demandOpen(ctx);
      return deltaStream(engine, workflows ?? null, { viewer: ctx.viewer, changes: liveChanges(ctx, 'deltas') });
    },
    permissions: (_args: unknown, ctx: GraphqlContext) => {
      demandOpen(ctx);
      return permissionStream(ctx.viewer, liveChanges(ctx, 'permissions'));
    },
  };
  for (const op of OPERATIONS) {
    if (op === 'read') continue;
    root[graphqlName(op)] = (
      { workflows, tasks, ...args }: { workflows: string[]; tasks?: string[] | null } & Record<string, unknown>,
      ctx: GraphqlContext,
    ) => {
      // The server has decided the whole request already; this is defence in depth.
      if (workflows.length === 0 && !ctx.viewer.permitted().has(op)) throw forbiddenError(op, null);
      for (const workflow of workflows) if (!ctx.viewer.permitted(workflow).has(op)) throw forbiddenError(op, workflow);
      for (const workflow of workflows) demandReadable(ctx, workflow);
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
