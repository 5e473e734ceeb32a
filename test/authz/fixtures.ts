import { CONTROL_OPERATIONS, type Operation } from '../../src/authz/index.js';

/** The site configuration of AUTHORIZATION.md "Worked examples", verbatim. */
export const WORKED_SITE = {
  '*': { '*': { default: 'READ' }, user1: { default: ['!ALL'] } },
  server_owner_1: { '*': { default: 'READ', limit: ['READ', 'CONTROL'] } },
  server_owner_2: { user2: { limit: 'ALL' }, 'group:groupA': { default: ['READ', 'CONTROL'] } },
  'group:owners': { 'group:groupB': { default: 'READ', limit: ['READ', 'CONTROL', '!stop', '!kill'] } },
};

export function sortedOps(ops: Iterable<Operation>): Operation[] {
  return [...ops].sort();
}

export function controlExcept(...excluded: Operation[]): Operation[] {
  return CONTROL_OPERATIONS.filter((op) => !excluded.includes(op));
}

export function withRead(ops: readonly Operation[]): Operation[] {
  return sortedOps(['read', ...ops]);
}
