/**
 * The price of a GraphQL request, worked out from its document before any resolver runs, so that
 * a small request cannot make the server do (or send) a great deal.
 *
 * Only what would run is priced: the chosen operation, with fragments expanded and `@skip` /
 * `@include` applied to the request's variables. Every field costs 1, its selections included;
 * a list of objects multiplies its selections by LIST_BOUND (the size is unknown before running,
 * so this is a weight, not a truncation); `jobLog` costs 1 per KB it may return (its byte bound,
 * see jobLogByteBound). Aliases count as the fields they are. Introspection (`__schema`,
 * `__type`) answers from the schema alone, so within it lists are not multiplied and depth is not
 * capped (its `ofType` chains nest deep by design); its fields still count. Counting fields and depth on the
 * way makes the walk itself cheap: it stops at the first field over the cap, however many times
 * fragments repeat one another.
 */
import {
  GraphQLError,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  Kind,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  TypeNameMetaFieldDef,
  getArgumentValues,
  getDirectiveValues,
  getNamedType,
  getNullableType,
  getVariableValues,
  isCompositeType,
  isListType,
  isObjectType,
  isInterfaceType,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from './graphql-js.js';
import { JOB_LOG_MAX_BYTES } from '../scheduler/index.js';
import type { ServerLimits } from '../config/server-limits.js';

/** How many items a list of objects is priced at. */
export const LIST_BOUND = 20;
/** What `tail: N` may read: N lines of up to this many bytes each (a longer line is cut). */
export const BYTES_PER_TAIL_LINE = 1024;

export type CostLimits = Pick<ServerLimits, 'query_cost' | 'query_fields' | 'query_depth'>;

/** The most bytes a `jobLog` with this `tail` reads: also what the resolver asks the engine for. */
export function jobLogByteBound(tail: number | null | undefined): number {
  if (tail == null) return JOB_LOG_MAX_BYTES;
  return Math.min(JOB_LOG_MAX_BYTES, Math.max(0, Math.floor(tail)) * BYTES_PER_TAIL_LINE);
}

/** `overLimit`: refused for its size (cost, fields or depth), not for bad variables. */
export type CostResult = { ok: true; cost: number } | { ok: false; overLimit: boolean; errors: GraphQLError[] };

/** Refusal of a walk over the field or depth cap; caught by measureCost only. */
class OverLimit extends Error {
  constructor(readonly error: GraphQLError) {
    super(error.message);
  }
}

/**
 * Prices `operation` of a validated `document`; refuses it when its cost, fields or depth pass
 * the limits. `variables` are the request's raw variables (coerced here, as execution would).
 */
export function measureCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | null | undefined,
  limits: CostLimits,
): CostResult {
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables ?? {}, { maxErrors: 10 });
  if (coerced.errors) return { ok: false, overLimit: false, errors: [...coerced.errors] };
  const rootType = schema.getRootType(operation.operation);
  if (!rootType) return { ok: false, overLimit: false, errors: [new GraphQLError(`This server has no ${operation.operation} type.`)] };
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) {
    if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);
  }
  const walk = new CostWalk(schema, fragments, coerced.coerced, limits);
  try {
    const cost = walk.selections(operation.selectionSet, rootType, 1);
    if (cost > limits.query_cost) {
      return {
        ok: false,
        overLimit: true,
        errors: [
          new GraphQLError(
            `Query cost ${cost} exceeds the budget of ${limits.query_cost} (WorkflowServer.limits.query_cost): ask for fewer fields or aliases, ` +
              `or fewer log bytes (jobLog costs 1 per KB it may return: 1024 for a whole log, about N for tail: N).`,
            { extensions: { code: 'COST_LIMIT', cost, budget: limits.query_cost } },
          ),
        ],
      };
    }
    return { ok: true, cost };
  } catch (err) {
    if (err instanceof OverLimit) return { ok: false, overLimit: true, errors: [err.error] };
    if (err instanceof GraphQLError) return { ok: false, overLimit: false, errors: [err] };
    throw err;
  }
}

class CostWalk {
  private fields = 0;

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly fragments: Map<string, FragmentDefinitionNode>,
    private readonly variables: Record<string, unknown>,
    private readonly limits: CostLimits,
  ) {}

  selections(selectionSet: SelectionSetNode, parent: GraphQLCompositeType, depth: number, introspecting = false): number {
    let cost = 0;
    for (const selection of selectionSet.selections) {
      if (this.skipped(selection)) continue;
      if (selection.kind === Kind.FIELD) {
        cost += this.field(selection, parent, depth, introspecting);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        cost += this.selections(selection.selectionSet, this.conditionType(selection.typeCondition?.name.value) ?? parent, depth, introspecting);
      } else {
        // Validation has already refused unknown and cyclic fragments.
        const fragment = this.fragments.get(selection.name.value);
        if (fragment) cost += this.selections(fragment.selectionSet, this.conditionType(fragment.typeCondition.name.value) ?? parent, depth, introspecting);
      }
    }
    return cost;
  }

  private field(node: FieldNode, parent: GraphQLCompositeType, depth: number, introspecting: boolean): number {
    this.fields += 1;
    if (this.fields > this.limits.query_fields) {
      throw new OverLimit(
        new GraphQLError(
          `Query has more than ${this.limits.query_fields} fields, counting every alias and fragment use (WorkflowServer.limits.query_fields).`,
          { extensions: { code: 'FIELD_LIMIT', limit: this.limits.query_fields } },
        ),
      );
    }
    if (!introspecting && depth > this.limits.query_depth) {
      throw new OverLimit(
        new GraphQLError(`Query nests deeper than ${this.limits.query_depth} levels (WorkflowServer.limits.query_depth).`, {
          extensions: { code: 'DEPTH_LIMIT', limit: this.limits.query_depth },
        }),
      );
    }
    const definition = this.definition(parent, node.name.value);
    if (!definition) return 1;
    let cost = 1;
    if (parent === this.schema.getQueryType() && node.name.value === 'jobLog') {
      const { tail } = getArgumentValues(definition, node, this.variables) as { tail?: number | null };
      cost += Math.ceil(jobLogByteBound(tail) / 1024);
    }
    const named = getNamedType(definition.type);
    if (!node.selectionSet || !isCompositeType(named)) return cost;
    const schemaOnly = introspecting || definition === SchemaMetaFieldDef || definition === TypeMetaFieldDef;
    const inner = this.selections(node.selectionSet, named, depth + 1, schemaOnly);
    return cost + (!schemaOnly && isListType(getNullableType(definition.type)) ? inner * LIST_BOUND : inner);
  }

  private definition(parent: GraphQLCompositeType, name: string): GraphQLField<unknown, unknown> | undefined {
    if (name === TypeNameMetaFieldDef.name) return TypeNameMetaFieldDef;
    if (parent === this.schema.getQueryType()) {
      if (name === SchemaMetaFieldDef.name) return SchemaMetaFieldDef;
      if (name === TypeMetaFieldDef.name) return TypeMetaFieldDef;
    }
    return isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
  }

  private conditionType(name: string | undefined): GraphQLCompositeType | undefined {
    const type = name === undefined ? undefined : this.schema.getType(name);
    return type && isCompositeType(type) ? type : undefined;
  }

  /** Whether `@skip` / `@include` leave this selection out, as execution would decide. */
  private skipped(node: SelectionSetNode['selections'][number]): boolean {
    if (getDirectiveValues(GraphQLSkipDirective, node, this.variables)?.if === true) return true;
    return getDirectiveValues(GraphQLIncludeDirective, node, this.variables)?.if === false;
  }
}
