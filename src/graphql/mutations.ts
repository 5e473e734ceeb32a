/**
 * One GraphQL mutation per operation, derived from the engine's operation catalogue
 * (src/scheduler/operations.ts): each takes `workflows: [ID!]!`, task operations also take
 * `tasks: [String!]!` (poll: optional), and every other argument is the operation's own, typed from
 * its schema there and passed 1:1 to the engine as `args`.
 */
import type { z } from 'zod';
import { OPERATIONS, graphqlName, type Operation } from '../authz/index.js';
import { OPERATION_CATALOGUE, type EngineOperation } from '../scheduler/operations.js';

type Schema = z.core.$ZodType;

/** The GraphQL type of an argument schema, without the outer `!` (added for required arguments). */
function graphqlType(schema: Schema): string {
  const def = schema._zod.def as { type: string; element?: Schema; innerType?: Schema };
  switch (def.type) {
    case 'string':
    case 'enum':
    case 'literal':
    case 'union':
      return 'String';
    case 'number':
      return (schema as unknown as { format?: string }).format === 'safeint' ? 'Int' : 'Float';
    case 'boolean':
      return 'Boolean';
    case 'array':
      return `[${graphqlType(def.element!)}!]`;
    case 'object':
    case 'record':
      return 'JSON';
    default:
      throw new Error(`no GraphQL type for a ${def.type} argument`);
  }
}

/** `name: Type!`, `name: Type` or `name: Type = default`, from the argument's schema. */
function argumentSdl(name: string, schema: Schema): string {
  const def = schema._zod.def as { type: string; innerType?: Schema; defaultValue?: unknown };
  if (def.type === 'optional') return `${name}: ${graphqlType(def.innerType!)}`;
  // JSON strings and lists of strings are GraphQL literals as they are.
  if (def.type === 'default') return `${name}: ${graphqlType(def.innerType!)} = ${JSON.stringify(def.defaultValue)}`;
  return `${name}: ${graphqlType(schema)}!`;
}

const TASKS_ARGUMENT = { required: ['tasks: [String!]!'], optional: ['tasks: [String!]'], none: [] } as const;

/** The `type Mutation { … }` SDL, one field per operation in OPERATIONS. */
export function mutationSdl(): string {
  const fields = OPERATIONS.filter((op): op is Exclude<Operation, 'read'> & EngineOperation => op !== 'read').map((op) => {
    const entry = OPERATION_CATALOGUE[op];
    const own = Object.entries(entry.args.shape as Record<string, Schema>).map(([name, schema]) => argumentSdl(name, schema));
    const args = ['workflows: [ID!]!', ...TASKS_ARGUMENT[entry.tasks], ...own];
    return `  """${entry.description}"""\n  ${graphqlName(op)}(${args.join(', ')}): [CommandResult!]!`;
  });
  return `type Mutation {\n${fields.join('\n')}\n}`;
}
