/**
 * GraphQL over HTTP (graphql-http): GET for queries, POST for everything. Before anything runs,
 * the document is parsed, validated and analysed into the operations it would perform; if any
 * is not permitted the whole request is refused with 403 and
 * `{"errors":[{"message","extensions":{"code":"FORBIDDEN","operation"}}]}`, so nothing partial runs.
 * Then it is priced (src/graphql/cost.ts): over the budget, or over the field or depth cap, it is
 * refused with 400 (`COST_LIMIT`, `FIELD_LIMIT`, `DEPTH_LIMIT`). A response that grows past
 * `response_bytes` is refused whole with 400 (`RESPONSE_LIMIT`) instead of being sent.
 */
import type { GraphQLError, GraphQLSchema } from '../graphql/graphql-js.js';
import { createHandler } from 'graphql-http/lib/use/express';
import { analyseDocument } from '../graphql/analyse.js';
import { measureCost } from '../graphql/cost.js';
import { forbiddenError, type GraphqlContext } from '../graphql/resolvers.js';
import { oversizedResult, ResponseMeter } from '../graphql/response-size.js';
import type { DecisionMaker } from './decisions.js';
import type { ServerLimits } from './limits.js';

type Refusal = [string, { status: number; statusText: string; headers: Record<string, string> }];

function refusal(status: 400 | 403, errors: GraphQLError[]): Refusal {
  return [
    JSON.stringify({ errors: errors.map((error) => error.toJSON()) }),
    { status, statusText: status === 400 ? 'Bad Request' : 'Forbidden', headers: { 'content-type': 'application/json; charset=utf-8' } },
  ];
}

export function graphqlHandler(schema: GraphQLSchema, rootValue: Record<string, unknown>, decisions: DecisionMaker, limits: ServerLimits) {
  return createHandler<GraphqlContext>({
    schema,
    rootValue,
    onSubscribe: (req, params) => {
      const analysis = analyseDocument(schema, params.query, params.operationName);
      if (!analysis.ok) return analysis.errors;
      const identity = req.context.res.locals.identity;
      const decision = decisions.check(identity, analysis.operations, 'graphql');
      if (!decision.allowed) return refusal(403, [forbiddenError(decision.refused ?? 'read')]);
      const cost = measureCost(schema, analysis.document, analysis.operation, params.variables, limits);
      // Bad variables are answered as graphql-http answers any invalid request.
      if (!cost.ok) return cost.overLimit ? refusal(400, cost.errors) : cost.errors;
      return {
        schema,
        document: analysis.document,
        operationName: params.operationName ?? null,
        variableValues: params.variables ?? null,
        rootValue,
        contextValue: { identity, permitted: decision.permitted, meter: new ResponseMeter(limits.response_bytes) },
      };
    },
    onOperation: (_req, args, result) => {
      const oversized = oversizedResult(args.contextValue, result);
      return oversized ? refusal(400, [oversized]) : undefined;
    },
  });
}
