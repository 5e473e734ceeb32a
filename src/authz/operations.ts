/**
 * The operation catalogue of AUTHORIZATION.md: every operation, the three permission groups,
 * and the GraphQL mutation name of each operation.
 */

export const CONTROL_OPERATIONS = [
  'clean',
  'ext_trigger',
  'hold',
  'kill',
  'message',
  'pause',
  'play',
  'poll',
  'release',
  'release_hold_point',
  'reload',
  'remove',
  'resume',
  'set_graph_window_extent',
  'set_hold_point',
  'set_outputs',
  'set_verbosity',
  'stop',
  'trigger',
] as const;

export const READ_OPERATIONS = ['read'] as const;

export type Operation =
  | (typeof READ_OPERATIONS)[number]
  | (typeof CONTROL_OPERATIONS)[number]
  | 'broadcast';

/** Every operation, sorted; `broadcast` is only ever reachable through `ALL` or by name. */
export const OPERATIONS: readonly Operation[] = Object.freeze(
  [...READ_OPERATIONS, ...CONTROL_OPERATIONS, 'broadcast' as const].sort(),
);

export const ALL_OPERATIONS: readonly Operation[] = OPERATIONS;

export type PermissionGroup = 'READ' | 'CONTROL' | 'ALL';

export const GROUP_OPERATIONS: Readonly<Record<PermissionGroup, readonly Operation[]>> = Object.freeze({
  READ: READ_OPERATIONS,
  CONTROL: CONTROL_OPERATIONS,
  ALL: ALL_OPERATIONS,
});

export function isOperation(name: string): name is Operation {
  return (OPERATIONS as readonly string[]).includes(name);
}

/** `ext_trigger` → `extTrigger`. */
export function graphqlName(op: Operation): string {
  return op.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** Every operation with its GraphQL name, in catalogue order, spelled once: userprofile and
 * Query.me show them on every request. */
const CATALOGUE: readonly (readonly [Operation, string])[] = OPERATIONS.map((op) => [op, graphqlName(op)]);

/** A permitted set as GraphQL names, in catalogue order: how pages and the API show permissions. */
export function graphqlNames(permitted: ReadonlySet<Operation>): string[] {
  const names: string[] = [];
  for (const [op, name] of CATALOGUE) if (permitted.has(op)) names.push(name);
  return names;
}

const byGraphqlName: ReadonlyMap<string, Operation> = new Map(CATALOGUE.map(([op, name]) => [name, op]));

/** `extTrigger` → `ext_trigger`; exact GraphQL spelling only (GraphQL names are case-sensitive). */
export function operationFromGraphqlName(name: string): Operation | undefined {
  return byGraphqlName.get(name);
}
