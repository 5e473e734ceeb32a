/**
 * One operation catalogue: the authorization rules' operations, the engine's catalogue and the
 * GraphQL mutations must name the same operations, with the same arguments.
 */
import { describe, expect, it } from 'vitest';
import { GraphQLNonNull, type GraphQLArgument } from '../../src/graphql/graphql-js.js';
import { OPERATIONS, graphqlName, operationFromGraphqlName } from '../../src/authz/index.js';
import { buildWorkflowSchema } from '../../src/graphql/schema.js';
import { OPERATION_CATALOGUE, parseCommand } from '../../src/scheduler/operations.js';
import { ENGINE_OPERATIONS, TASK_OPERATIONS } from '../../src/scheduler/index.js';

const mutations = buildWorkflowSchema().getMutationType()!.getFields();
const own = (args: readonly GraphQLArgument[]) => args.filter((a) => a.name !== 'workflows' && a.name !== 'tasks');

describe('the operation catalogue', () => {
  it('the engine accepts exactly the operations of the rules, read aside', () => {
    expect([...ENGINE_OPERATIONS].sort()).toEqual(OPERATIONS.filter((op) => op !== 'read'));
  });

  it('has one mutation per operation, named in camelCase, and nothing else', () => {
    expect(Object.keys(mutations).sort()).toEqual(ENGINE_OPERATIONS.map(graphqlName).sort());
    for (const name of Object.keys(mutations)) expect(operationFromGraphqlName(name)).toBeDefined();
  });

  it.each(ENGINE_OPERATIONS)('%s: the mutation takes workflows, tasks as the engine needs them, and the engine arguments', (op) => {
    const field = mutations[graphqlName(op)]!;
    const entry = OPERATION_CATALOGUE[op];
    const byName = Object.fromEntries(field.args.map((a) => [a.name, a]));
    expect(String(byName.workflows?.type)).toBe('[ID!]!');
    const tasks = byName.tasks;
    if (entry.tasks === 'none') expect(tasks).toBeUndefined();
    else expect(tasks?.type instanceof GraphQLNonNull).toBe(entry.tasks === 'required');
    expect(TASK_OPERATIONS.has(op)).toBe(entry.tasks === 'required');
    expect(own(field.args).map((a) => a.name)).toEqual(Object.keys(entry.args.shape));
    expect(field.description).toBe(entry.description);
  });

  it.each(ENGINE_OPERATIONS)("%s: the mutation's defaults are the engine's, and a required argument is required by both", (op) => {
    const entry = OPERATION_CATALOGUE[op];
    const tasks = entry.tasks === 'required' ? ['a'] : [];
    for (const arg of own(mutations[graphqlName(op)]!.args)) {
      const required = arg.type instanceof GraphQLNonNull;
      const parsed = parseCommand(op, tasks, {});
      if (required) {
        // The engine refuses the empty arguments naming this one.
        expect(parsed.ok).toBe(false);
        if (!parsed.ok) expect(parsed.message).toContain(`args.${arg.name}`);
      } else if (arg.defaultValue !== undefined && parsed.ok) {
        expect(parsed.args[arg.name]).toEqual(arg.defaultValue);
      }
    }
  });
});
