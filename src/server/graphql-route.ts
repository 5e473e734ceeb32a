/**
 * GraphQL over HTTP (graphql-http): GET for queries, POST for everything. Before anything runs,
 * the document is parsed, validated and analysed into the operations it would perform; if any
 * is not permitted the whole request is refused with 403 and
 * `{"errors":[{"message","extensions":{"code":"FORBIDDEN","operation"}}]}`, so nothing partial runs.
 */
import type { GraphQLSchema } from '../graphql/graphql-js.js';
import { createHandler } from 'graphql-http/lib/use/express';
import { analyseDocument } from '../graphql/analyse.js';
import { forbiddenError, type GraphqlContext } from '../graphql/resolvers.js';
import type { DecisionMaker } from './decisions.js';

export function graphqlHandler(schema: GraphQLSchema, rootValue: Record<string, unknown>, decisions: DecisionMaker) {
  return createHandler<GraphqlContext>({
    schema,
    rootValue,
    onSubscribe: (req, params) => {
      const analysis = analyseDocument(schema, params.query, params.operationName);
      if (!analysis.ok) return analysis.errors;
      const identity = req.context.res.locals.identity;
      const decision = decisions.check(identity, analysis.operations, 'graphql');
      if (!decision.allowed) {
        const refused = decision.refused ?? 'read';
        return [
          JSON.stringify({ errors: [forbiddenError(refused).toJSON()] }),
          { status: 403, statusText: 'Forbidden', headers: { 'content-type': 'application/json; charset=utf-8' } },
        ];
      }
      return {
        schema,
        document: analysis.document,
        operationName: params.operationName ?? null,
        variableValues: params.variables ?? null,
        rootValue,
        contextValue: { identity, permitted: decision.permitted },
      };
    },
  });
}
