/**
 * What a GraphQL document would do, worked out before anything runs, so that the authorizer can
 * refuse a whole request when any part of it is not permitted.
 *
 * Queries and subscriptions are `read`. In a mutation, each top-level field is its own operation
 * (the field name, not its alias, names it). Fragment spreads and inline fragments at the top level
 * are followed. Directives such as `@skip` are deliberately ignored: a field that might be skipped
 * still counts, so a document is never allowed more than it names.
 */
import {
  GraphQLError,
  Kind,
  getOperationAST,
  parse,
  validate,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type OperationTypeNode,
  type SelectionSetNode,
} from './graphql-js.js';
import { operationFromGraphqlName, type Operation } from '../authz/index.js';

export type Analysis =
  | { ok: true; document: DocumentNode; operation: OperationDefinitionNode; kind: OperationTypeNode; operations: Operation[] }
  | { ok: false; errors: GraphQLError[] };

/** Longest document we parse; larger ones are refused before parsing. */
export const MAX_DOCUMENT_TOKENS = 5_000;

export function analyseDocument(
  schema: GraphQLSchema,
  source: string | DocumentNode,
  operationName?: string | null,
): Analysis {
  let document: DocumentNode;
  try {
    document = typeof source === 'string' ? parse(source, { maxTokens: MAX_DOCUMENT_TOKENS }) : source;
  } catch (err) {
    return { ok: false, errors: [err instanceof GraphQLError ? err : new GraphQLError(String(err))] };
  }
  const errors = validate(schema, document);
  if (errors.length > 0) return { ok: false, errors: [...errors] };
  const operation = getOperationAST(document, operationName ?? undefined);
  if (!operation) {
    const message = operationName
      ? `Unknown operation named "${operationName}".`
      : 'Must provide operation name if query contains multiple operations.';
    return { ok: false, errors: [new GraphQLError(message)] };
  }
  if (operation.operation !== 'mutation') {
    return { ok: true, document, operation, kind: operation.operation, operations: ['read'] };
  }
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) {
    if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  }
  const operations = new Set<Operation>();
  for (const field of topLevelFieldNames(operation.selectionSet, fragments, new Set())) {
    // `__typename` reads nothing but the schema; count it as `read` rather than as nothing.
    const op = field === '__typename' ? 'read' : operationFromGraphqlName(field);
    if (!op) return { ok: false, errors: [new GraphQLError(`Unknown mutation "${field}".`)] };
    operations.add(op);
  }
  return { ok: true, document, operation, kind: operation.operation, operations: [...operations] };
}

function topLevelFieldNames(
  selectionSet: SelectionSetNode,
  fragments: Map<string, FragmentDefinitionNode>,
  visited: Set<string>,
): string[] {
  const names: string[] = [];
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      names.push(selection.name.value);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      names.push(...topLevelFieldNames(selection.selectionSet, fragments, visited));
    } else {
      const name = selection.name.value;
      const fragment = fragments.get(name);
      // Validation has already rejected unknown and cyclic fragments; `visited` is belt and braces.
      if (!fragment || visited.has(name)) continue;
      visited.add(name);
      names.push(...topLevelFieldNames(fragment.selectionSet, fragments, visited));
    }
  }
  return names;
}
