import { describe, expect, it } from 'vitest';
import {
  ALL_OPERATIONS,
  CONTROL_OPERATIONS,
  OPERATIONS,
  READ_OPERATIONS,
  graphqlName,
  operationFromGraphqlName,
  resolvePermission,
} from '../../src/authz/index.js';

describe('operation catalogue', () => {
  it('lists every operation of AUTHORIZATION.md, sorted, in snake_case', () => {
    expect(OPERATIONS).toEqual([
      'broadcast', 'clean', 'ext_trigger', 'hold', 'kill', 'message', 'pause', 'play', 'poll', 'read',
      'release', 'release_hold_point', 'reload', 'remove', 'resume', 'set_graph_window_extent',
      'set_hold_point', 'set_outputs', 'set_verbosity', 'stop', 'trigger',
    ]);
  });

  it('READ is read alone', () => {
    expect(READ_OPERATIONS).toEqual(['read']);
  });

  it('CONTROL is the nineteen mutations, without read and without broadcast', () => {
    expect(CONTROL_OPERATIONS).toHaveLength(19);
    expect(CONTROL_OPERATIONS).not.toContain('read');
    expect(CONTROL_OPERATIONS).not.toContain('broadcast');
  });

  it('ALL is READ plus CONTROL plus broadcast, and broadcast is only in ALL', () => {
    expect([...ALL_OPERATIONS].sort()).toEqual([...READ_OPERATIONS, ...CONTROL_OPERATIONS, 'broadcast'].sort());
  });
});

describe('GraphQL names', () => {
  it('are the camelCase of the snake_case name', () => {
    expect(graphqlName('ext_trigger')).toBe('extTrigger');
    expect(graphqlName('set_graph_window_extent')).toBe('setGraphWindowExtent');
    expect(graphqlName('release_hold_point')).toBe('releaseHoldPoint');
    expect(graphqlName('stop')).toBe('stop');
  });

  it('map back to the operation for every operation', () => {
    for (const op of OPERATIONS) expect(operationFromGraphqlName(graphqlName(op))).toBe(op);
  });

  it('do not map unknown or snake_case names', () => {
    expect(operationFromGraphqlName('ext_trigger')).toBeUndefined();
    expect(operationFromGraphqlName('frobnicate')).toBeUndefined();
  });
});

describe('spelling', () => {
  it.each(['ext_trigger', 'Ext-trigger', 'ExtTrigger', 'extTrigger', 'EXT_TRIGGER'])('%s is ext_trigger', (written) => {
    expect(resolvePermission(written)).toEqual({ negated: false, name: 'ext_trigger' });
  });

  it.each(['read', 'Read', 'READ'])('%s is read', (written) => {
    expect(resolvePermission(written)).toEqual({ negated: false, name: 'read' });
  });

  it.each(['control', 'Control', 'CONTROL'])('%s is CONTROL', (written) => {
    expect(resolvePermission(written)).toEqual({ negated: false, name: 'CONTROL' });
  });

  it.each(['all', 'All', 'ALL'])('%s is ALL', (written) => {
    expect(resolvePermission(written)).toEqual({ negated: false, name: 'ALL' });
  });

  it('keeps the negation of any spelling', () => {
    expect(resolvePermission('!Ext-Trigger')).toEqual({ negated: true, name: 'ext_trigger' });
    expect(resolvePermission('!all')).toEqual({ negated: true, name: 'ALL' });
  });

  it('every operation is found from its GraphQL, upper-case and kebab spellings', () => {
    for (const op of OPERATIONS) {
      for (const written of [op, graphqlName(op), op.toUpperCase(), op.replace(/_/g, '-')]) {
        expect(resolvePermission(written)?.name).toBe(op);
      }
    }
  });

  it.each(['stpo', '!!stop', '', '!', '_stop', 'ali*', 'reads'])('%j is no permission', (written) => {
    expect(resolvePermission(written)).toBeUndefined();
  });
});
