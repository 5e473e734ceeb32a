/**
 * GraphQL over HTTP (graphql-http): GET for queries, POST for everything. Before anything runs,
 * the document is parsed, validated and analysed into the operations it would perform and the
 * workflows each acts on (src/server/decisions.ts decides). A query needs `read` somewhere (its
 * resolvers then show only readable workflows). A mutation naming a workflow the user may not
 * read is refused whole with 404 NOT_FOUND, worded as for a workflow that does not exist; one
 * lacking an operation on any named workflow is refused whole with 403 and
 * `{"errors":[{"message","extensions":{"code":"FORBIDDEN","operation","workflow"}}]}`, so nothing
 * partial runs.
 * Then it is priced (src/graphql/cost.ts): over the budget, or over the field or depth cap, it is
 * refused with 400 (`COST_LIMIT`, `FIELD_LIMIT`, `DEPTH_LIMIT`). A response that grows past
 * `response_bytes` is refused whole with 400 (`RESPONSE_LIMIT`) instead of being sent.
 */
import { GraphQLError, type GraphQLSchema } from '../graphql/graphql-js.js';
import { createHandler } from 'graphql-http/lib/use/express';
import { analyseDocument, mutationActions, type Analysis } from '../graphql/analyse.js';
import { measureCost } from '../graphql/cost.js';
import { forbiddenError, noSuchWorkflow, type GraphqlContext } from '../graphql/resolvers.js';
import type { Identity } from '../identity/proof.js';
import { oversizedResult, ResponseMeter } from '../graphql/response-size.js';
import type { DecisionMaker } from './decisions.js';
import type { ServerLimits } from './limits.js';

type Refusal = [string, { status: number; statusText: string; headers: Record<string, string> }];

const STATUS_TEXT = { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found' } as const;

function refusal(status: 400 | 403 | 404, errors: GraphQLError[]): Refusal {
  return [
    JSON.stringify({ errors: errors.map((error) => error.toJSON()) }),
    { status, statusText: STATUS_TEXT[status], headers: { 'content-type': 'application/json; charset=utf-8' } },
  ];
}

/** `read` refused everywhere, saying which layer refused (see denial.ts). */
function closedError(decisions: DecisionMaker, identity: Identity): GraphQLError {
  const forbidden = forbiddenError('read');
  const { reason, text } = decisions.denial(identity);
  return new GraphQLError(`${forbidden.message} ${text}`, { extensions: { ...forbidden.extensions, reason } });
}

/**
 * The decision for an analysed document, as a refusal or undefined (allowed). Shared by HTTP and
 * the subscription socket, so both answer alike.
 */
export function refuseDocument(
  schema: GraphQLSchema,
  decisions: DecisionMaker,
  identity: Identity,
  analysis: Extract<Analysis, { ok: true }>,
  variables: Record<string, unknown> | null | undefined,
  what: string,
): { status: 400 | 403 | 404; errors: GraphQLError[] } | undefined {
  if (analysis.kind !== 'mutation') {
    return decisions.open(identity, what) ? undefined : { status: 403, errors: [closedError(decisions, identity)] };
  }
  const actions = mutationActions(schema, analysis, variables);
  if (!actions.ok) return { status: 400, errors: actions.errors };
  const decision = decisions.act(identity, actions.actions, what);
  if (decision.allowed) return undefined;
  if (decision.reason === 'unreadable') {
    const notFound = noSuchWorkflow(decision.workflow);
    return { status: 404, errors: [new GraphQLError(notFound.message, { extensions: { code: 'NOT_FOUND', workflow: decision.workflow } })] };
  }
  return { status: 403, errors: [forbiddenError(decision.operation, decision.workflow)] };
}

export function graphqlHandler(schema: GraphQLSchema, rootValue: Record<string, unknown>, decisions: DecisionMaker, limits: ServerLimits) {
  return createHandler<GraphqlContext>({
    schema,
    rootValue,
    onSubscribe: (req, params) => {
      const analysis = analyseDocument(schema, params.query, params.operationName);
      if (!analysis.ok) return analysis.errors;
      const identity: Identity = req.context.res.locals.identity;
      const refused = refuseDocument(schema, decisions, identity, analysis, params.variables, 'graphql');
      if (refused) return refusal(refused.status, refused.errors);
      const cost = measureCost(schema, analysis.document, analysis.operation, params.variables, limits);
      // Bad variables are answered as graphql-http answers any invalid request.
      if (!cost.ok) return cost.overLimit ? refusal(400, cost.errors) : cost.errors;
      return {
        schema,
        document: analysis.document,
        operationName: params.operationName ?? null,
        variableValues: params.variables ?? null,
        rootValue,
        contextValue: { identity, viewer: decisions.viewer(identity), meter: new ResponseMeter(limits.response_bytes) },
      };
    },
    onOperation: (_req, args, result) => {
      const oversized = oversizedResult(args.contextValue, result);
      return oversized ? refusal(400, [oversized]) : undefined;
    },
  });
}
