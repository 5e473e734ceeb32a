/**
 * The decision cache on its own: exact least-recently-used eviction, and entries valid only for
 * the set of groups they were made with.
 */
import { describe, expect, it } from 'vitest';
import { DecisionCache } from '../../src/authz/decision-cache.js';
import type { OperationSet } from '../../src/authz/mask.js';
import { seededRandom } from '../../src/util/seeded-random.js';

const result = (name: string) => new Set([name]) as unknown as OperationSet;
const asking = (user: string, userGroups: string[] = ['ops']) => ({ owner: 'alice', ownerGroups: ['staff'], user, userGroups });

describe('DecisionCache', () => {
  it('evicts the least recently used decision, counting every hit', () => {
    const cache = new DecisionCache(3);
    for (const user of ['v1', 'v2', 'v3']) cache.set(asking(user), null, result(user));
    // Used most recently last: v3 (not since set), then v2, then v1.
    expect(cache.get(asking('v2'), null)).toBeDefined();
    expect(cache.get(asking('v1'), null)).toBeDefined();
    cache.set(asking('v4'), null, result('v4'));
    expect(cache.get(asking('v3'), null)).toBeUndefined();
    // Now least recent first: v2, v1, v4. A used-or-not flag would not tell v2 from v1.
    cache.set(asking('v5'), null, result('v5'));
    expect(cache.get(asking('v2'), null)).toBeUndefined();
    expect([...cache.get(asking('v1'), null)!]).toEqual(['v1']);
    expect([...cache.get(asking('v4'), null)!]).toEqual(['v4']);
    expect([...cache.get(asking('v5'), null)!]).toEqual(['v5']);
    expect(cache.size).toBe(3);
  });

  it('answers for the same set of groups in any order, and for no other set', () => {
    const cache = new DecisionCache(2);
    cache.set(asking('bob', ['b', 'a']), 'wf', result('read'));
    expect(cache.get(asking('bob', ['a', 'b']), 'wf')).toBeDefined();
    expect(cache.get(asking('bob', ['b', 'a', 'a']), 'wf')).toBeDefined();
    expect(cache.get(asking('bob', ['a']), 'wf')).toBeUndefined();
    expect(cache.get(asking('bob', ['a', 'b']), null)).toBeUndefined();
    // Long lists too, which are compared sorted.
    const many = Array.from({ length: 20 }, (_, i) => `g${i}`);
    cache.set(asking('carl', many), null, result('read'));
    expect(cache.get(asking('carl', [...many].reverse()), null)).toBeDefined();
    expect(cache.get(asking('carl', [...many.slice(1), 'g1']), null)).toBeUndefined();
    cache.clear();
    // Setting the same place again replaces the entry rather than adding one.
    cache.set(asking('bob', ['b', 'a']), 'wf', result('read'));
    cache.set(asking('bob', ['c']), 'wf', result('stop'));
    expect(cache.size).toBe(1);
    expect(cache.get(asking('bob', ['a', 'b']), 'wf')).toBeUndefined();
    expect([...cache.get(asking('bob', ['c']), 'wf')!]).toEqual(['stop']);
  });

  it('keeps exactly the most recently used decisions through a long seeded mix of hits, misses, sets and clears', () => {
    const random = seededRandom(20261203);
    const capacity = 5;
    const cache = new DecisionCache(capacity);
    // The model: users, least recently used first.
    let model: string[] = [];
    for (let step = 0; step < 5_000; step++) {
      const user = `u${Math.floor(random() * 9)}`;
      const roll = random();
      if (roll < 0.005) {
        cache.clear();
        model = [];
      } else if (roll < 0.5) {
        const hit = cache.get(asking(user), null);
        expect(hit === undefined ? undefined : [...hit]).toEqual(model.includes(user) ? [user] : undefined);
        if (model.includes(user)) model = [...model.filter((u) => u !== user), user];
      } else {
        cache.set(asking(user), null, result(user));
        model = [...model.filter((u) => u !== user), user].slice(-capacity);
      }
      expect(cache.size).toBe(model.length);
    }
  });

  it('refuses a capacity below one', () => {
    expect(() => new DecisionCache(0)).toThrow('a decision cache holds at least 1 decision, got 0');
  });
});
