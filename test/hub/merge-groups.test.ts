/**
 * The one merge of groups (site file, hub database, operating system) that the hub and the
 * commands share: where each group and each membership comes from, and names that are also
 * properties of every JavaScript object are groups like any other.
 */
import { describe, expect, it } from 'vitest';
import { fixedMembers, mergeGroups } from '../../src/hub/groups/merge-groups.js';

describe('mergeGroups', () => {
  it('says where each group and each membership comes from', () => {
    const merged = mergeGroups({
      config: { ops: { users: ['ann'] } },
      stored: { groups: ['night'], members: new Map([['ops', new Set(['bob'])], ['night', new Set(['ann'])], ['extra', new Set(['cat'])]]) },
      system: new Map([['ann', ['ops', 'wheel']]]),
    });
    expect([...merged.keys()].sort()).toEqual(['extra', 'night', 'ops', 'wheel']);
    const ops = merged.get('ops')!;
    expect([...ops.sources]).toEqual(['config', 'system']);
    expect(Object.fromEntries([...ops.members].map(([user, from]) => [user, [...from]]))).toEqual({ ann: ['config', 'system'], bob: ['hub'] });
    expect(fixedMembers(ops)).toEqual(['ann']);
    // Run-time members of a group declared nowhere else make it a hub group.
    expect([...merged.get('extra')!.sources]).toEqual(['hub']);
    expect([...merged.get('wheel')!.sources]).toEqual(['system']);
  });

  it('takes groups named constructor, __proto__ or toString without crashing or touching Object.prototype', () => {
    const config = JSON.parse('{"constructor": {"users": ["ann"]}, "__proto__": {"users": ["bob"]}}') as Record<string, { users: string[] }>;
    const merged = mergeGroups({ config, stored: { groups: ['toString'], members: new Map([['constructor', new Set(['cat'])]]) } });
    expect([...merged.keys()].sort()).toEqual(['__proto__', 'constructor', 'toString']);
    expect([...merged.get('constructor')!.members.keys()]).toEqual(['ann', 'cat']);
    expect([...merged.get('__proto__')!.members.keys()]).toEqual(['bob']);
    expect(({} as Record<string, unknown>).users).toBeUndefined();
    expect(typeof ({} as { toString: unknown }).toString).toBe('function');
  });
});
