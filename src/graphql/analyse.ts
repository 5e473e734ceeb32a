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
  getArgumentValues,
  getOperationAST,
  getVariableValues,
  type FieldNode,
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

/**
 * Analyses already made, per schema and document text. The page and scripts send the same few
 * documents again and again, and a subscription keeps its parsed document for as long as it
 * lasts, every node with its location and the document's whole list of tokens: 400 subscriptions
 * of the page's document held 74,000 Location and 50,000 Token objects (about 9 MB of a busy
 * server's heap, bench/memory.mjs). Kept, the same text is parsed and validated once and its
 * document shared; graphql-js never changes a document it is given. Only documents that passed are
 * kept, the most recently used first.
 */
const ANALYSES_KEPT = 64;
const analyses = new WeakMap<GraphQLSchema, Map<string, Analysis>>();

export function analyseDocument(
  schema: GraphQLSchema,
  source: string | DocumentNode,
  operationName?: string | null,
): Analysis {
  if (typeof source !== 'string') return analyse(schema, source, operationName);
  let kept = analyses.get(schema);
  if (!kept) analyses.set(schema, (kept = new Map()));
  const key = `${operationName ?? ''}\n${source}`;
  const hit = kept.get(key);
  if (hit) {
    kept.delete(key);
    kept.set(key, hit);
    return hit;
  }
  const analysis = analyse(schema, source, operationName);
  if (!analysis.ok) return analysis;
  if (kept.size >= ANALYSES_KEPT) kept.delete(kept.keys().next().value!);
  // Shared from now on: nobody's changes may reach another's.
  const shared = Object.freeze({ ...analysis, operations: Object.freeze([...analysis.operations]) as Operation[] });
  kept.set(key, shared);
  return shared;
}

function analyse(schema: GraphQLSchema, source: string | DocumentNode, operationName: string | null | undefined): Analysis {
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
  const operations = new Set<Operation>();
  for (const field of topLevelFields(document, operation)) {
    const op = operationOfField(field);
    if (!op) return { ok: false, errors: [new GraphQLError(`Unknown mutation "${field.name.value}".`)] };
    operations.add(op);
  }
  return { ok: true, document, operation, kind: operation.operation, operations: [...operations] };
}

/** `__typename` reads nothing but the schema; count it as `read` rather than as nothing. */
function operationOfField(field: FieldNode): Operation | undefined {
  return field.name.value === '__typename' ? 'read' : operationFromGraphqlName(field.name.value);
}

/** One operation of a mutation document and the workflows it acts on. */
export interface MutationAction {
  operation: Operation;
  workflows: string[];
}

export type ActionsResult = { ok: true; actions: MutationAction[] } | { ok: false; errors: GraphQLError[] };

/**
 * What each top-level field of an analysed mutation acts on: its operation and the values of its
 * `workflows` argument with the request's variables applied, so that a request acting on several
 * workflows can be decided whole before anything runs. Bad variables are errors here, as they
 * would be when executing.
 */
export function mutationActions(
  schema: GraphQLSchema,
  analysis: Extract<Analysis, { ok: true }>,
  variables: Record<string, unknown> | null | undefined,
): ActionsResult {
  const coerced = getVariableValues(schema, analysis.operation.variableDefinitions ?? [], variables ?? {});
  if (coerced.errors) return { ok: false, errors: [...coerced.errors] };
  const mutationType = schema.getMutationType();
  const actions: MutationAction[] = [];
  for (const field of topLevelFields(analysis.document, analysis.operation)) {
    const operation = operationOfField(field);
    if (!operation) return { ok: false, errors: [new GraphQLError(`Unknown mutation "${field.name.value}".`)] };
    // Every mutation names its workflows; anything else is refused rather than decided server-wide.
    const definition = mutationType?.getFields()[field.name.value];
    if (!definition) return { ok: false, errors: [new GraphQLError(`Unknown mutation "${field.name.value}".`)] };
    try {
      const args = getArgumentValues(definition, field, coerced.coerced);
      if (!Array.isArray(args.workflows)) return { ok: false, errors: [new GraphQLError(`Mutation "${field.name.value}" needs a list of workflows.`)] };
      actions.push({ operation, workflows: args.workflows.map(String) });
    } catch (err) {
      return { ok: false, errors: [err instanceof GraphQLError ? err : new GraphQLError(String(err))] };
    }
  }
  return { ok: true, actions };
}

function topLevelFields(document: DocumentNode, operation: OperationDefinitionNode): FieldNode[] {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) {
    if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  }
  return fieldsOf(operation.selectionSet, fragments, new Set());
}

function fieldsOf(
  selectionSet: SelectionSetNode,
  fragments: Map<string, FragmentDefinitionNode>,
  visited: Set<string>,
): FieldNode[] {
  const fields: FieldNode[] = [];
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      fields.push(selection);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      fields.push(...fieldsOf(selection.selectionSet, fragments, visited));
    } else {
      const name = selection.name.value;
      const fragment = fragments.get(name);
      // Validation has already rejected unknown and cyclic fragments; `visited` is belt and braces.
      if (!fragment || visited.has(name)) continue;
      visited.add(name);
      fields.push(...fieldsOf(fragment.selectionSet, fragments, visited));
    }
  }
  return fields;
}
