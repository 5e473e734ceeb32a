import fc from 'fast-check';
import { nameArb, requestArb, siteArb, uaArb, type RawList, type RawSite, type RawUa } from './arbitraries.js';
import { describe, expect, it } from 'vitest';
import {
  ALL_OPERATIONS,
  CONTROL_OPERATIONS,
  OPERATIONS,
  decide,
  explainDecision,
  parseSiteAuthorization,
  parseUserAuthorization,
  type AuthzRequest,
  type Operation,
} from '../../src/authz/index.js';

/** An independent, deliberately plain reading of AUTHORIZATION.md, with Sets and no caching. */
function reference(site: RawSite | undefined, ua: RawUa | undefined, r: AuthzRequest) {
  const fold = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
  const expandName = (name: string): readonly Operation[] => {
    const f = fold(name);
    if (f === 'read') return ['read'];
    if (f === 'control') return CONTROL_OPERATIONS;
    if (f === 'all') return ALL_OPERATIONS;
    return OPERATIONS.filter((op) => fold(op) === f);
  };
  const expand = (lists: RawList[]): Set<Operation> => {
    const add = new Set<Operation>();
    const remove = new Set<Operation>();
    for (const term of lists.flatMap((l) => (typeof l === 'string' ? [l] : l))) {
      const negated = term.startsWith('!');
      for (const op of expandName(negated ? term.slice(1) : term)) (negated ? remove : add).add(op);
    }
    return new Set([...add].filter((op) => !remove.has(op)));
  };
  if (r.user === r.owner) return { result: new Set(ALL_OPERATIONS), limits: new Set(ALL_OPERATIONS), grants: new Set(ALL_OPERATIONS) };
  if (!site) return { result: new Set<Operation>(), limits: new Set<Operation>(), grants: new Set<Operation>() };
  const ownerKeys = ['*', r.owner, ...r.ownerGroups.map((g) => `group:${g}`)];
  const userKeys = ['*', r.user, ...r.userGroups.map((g) => `group:${g}`)];
  const limits: RawList[] = [];
  const defaults: RawList[] = [];
  for (const [ok, section] of Object.entries(site)) {
    if (!ownerKeys.includes(ok)) continue;
    for (const [uk, entry] of Object.entries(section)) {
      if (!userKeys.includes(uk)) continue;
      limits.push((entry.limit ?? entry.default)!);
      if (entry.default) defaults.push(entry.default);
    }
  }
  const present = Object.keys(ua ?? {}).filter((k) => userKeys.includes(k));
  const grantsLists = present.length > 0 ? present.map((k) => ua![k]!) : defaults;
  const expandedLimits = expand(limits);
  const expandedGrants = expand(grantsLists);
  return {
    result: new Set([...expandedLimits].filter((op) => expandedGrants.has(op))),
    limits: expandedLimits,
    grants: expandedGrants,
  };
}

function run(site: RawSite | undefined, ua: RawUa | undefined, r: AuthzRequest): Operation[] {
  return [...decide(site && parseSiteAuthorization(site), ua && parseUserAuthorization(ua), r)];
}

function sorted(ops: Iterable<Operation>): Operation[] {
  return [...ops].sort();
}

function reorder<T>(entries: [string, T][], shift: number): [string, T][] {
  const reversed = [...entries].reverse();
  const n = reversed.length === 0 ? 0 : shift % reversed.length;
  return [...reversed.slice(n), ...reversed.slice(0, n)];
}

const RUNS = { numRuns: 400 };

describe('randomised properties', () => {
  it('agrees with an independent reading of the rules', () => {
    fc.assert(
      fc.property(siteArb, uaArb, requestArb, (site, ua, r) => {
        expect(run(site, ua, r)).toEqual(sorted(reference(site, ua, r).result));
      }),
      RUNS,
    );
  });

  it('the owner always gets everything', () => {
    fc.assert(
      fc.property(fc.option(siteArb, { nil: undefined }), uaArb, requestArb, (site, ua, r) => {
        expect(run(site, ua, { ...r, user: r.owner })).toEqual([...ALL_OPERATIONS]);
      }),
      RUNS,
    );
  });

  it('the result is a subset of the expanded limits and of the expanded grants', () => {
    fc.assert(
      fc.property(siteArb, uaArb, requestArb, (site, ua, r) => {
        fc.pre(r.user !== r.owner);
        const { limits, grants } = reference(site, ua, r);
        const explained = explainDecision(parseSiteAuthorization(site), ua && parseUserAuthorization(ua), r);
        expect(explained.limits.operations).toEqual(sorted(limits));
        expect(explained.grants.operations).toEqual(sorted(grants));
        for (const op of run(site, ua, r)) {
          expect(limits.has(op)).toBe(true);
          expect(grants.has(op)).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it('adding a negation anywhere never adds an operation', () => {
    fc.assert(
      fc.property(siteArb, uaArb, requestArb, nameArb, fc.nat(), fc.boolean(), (site, ua, r, name, pick, inSite) => {
        const before = new Set(run(site, ua, r));
        const negation = `!${name}`;
        let site2 = site;
        let ua2 = ua;
        const uaKeys = Object.keys(ua ?? {});
        if (inSite || uaKeys.length === 0) {
          const places = Object.entries(site).flatMap(([ok, section]) => Object.keys(section).map((uk) => [ok, uk] as const));
          fc.pre(places.length > 0);
          const [ok, uk] = places[pick % places.length]!;
          const entry = site[ok]![uk]!;
          const field = pick % 2 === 0 && entry.limit ? 'limit' : entry.default ? 'default' : 'limit';
          const current = entry[field]!;
          site2 = { ...site, [ok]: { ...site[ok], [uk]: { ...entry, [field]: [...[current].flat(), negation] } } };
        } else {
          const key = uaKeys[pick % uaKeys.length]!;
          ua2 = { ...ua, [key]: [...[ua![key]!].flat(), negation] };
        }
        for (const op of run(site2, ua2, r)) expect(before.has(op)).toBe(true);
      }),
      RUNS,
    );
  });

  it('reordering sections, keys and groups never changes the result', () => {
    fc.assert(
      fc.property(siteArb, uaArb, requestArb, fc.nat(), (site, ua, r, shift) => {
        const site2 = Object.fromEntries(
          reorder(Object.entries(site), shift).map(([k, section]) => [k, Object.fromEntries(reorder(Object.entries(section), shift + 1))]),
        );
        const ua2 = ua && Object.fromEntries(reorder(Object.entries(ua), shift));
        const r2 = { ...r, ownerGroups: [...r.ownerGroups].reverse(), userGroups: [...r.userGroups].reverse() };
        expect(run(site2, ua2, r2)).toEqual(run(site, ua, r));
      }),
      RUNS,
    );
  });

  it('with no site configuration, nobody but the owner gets anything', () => {
    fc.assert(
      fc.property(uaArb, requestArb, (ua, r) => {
        fc.pre(r.user !== r.owner);
        expect(run(undefined, ua, r)).toEqual([]);
      }),
      RUNS,
    );
  });
});
