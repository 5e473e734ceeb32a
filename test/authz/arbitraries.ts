/** fast-check arbitraries for configurations and requests, shared by the property tests. */
import fc from 'fast-check';
import { OPERATIONS, graphqlName, type AuthzRequest, type Operation } from '../../src/authz/index.js';

export type RawList = string | string[];
export type RawEntry = { default?: RawList; limit?: RawList };
export type RawSite = Record<string, Record<string, RawEntry>>;
export type RawUa = Record<string, RawList>;

export const USERS = ['alice', 'bob', 'carol', 'dave'];
export const GROUPS = ['g1', 'g2', 'g3'];

// Spelling variants of every name, so that the properties also cover normalisation.
export const nameArb = fc.constantFrom<string>(...OPERATIONS, 'READ', 'CONTROL', 'ALL').chain((name) =>
  fc.constantFrom(
    name,
    name.toUpperCase(),
    name.toLowerCase(),
    name.replace(/_/g, '-'),
    name === name.toUpperCase() ? name : graphqlName(name as Operation),
  ),
);
export const termArb = fc.tuple(fc.boolean(), nameArb).map(([negated, name]) => (negated ? `!${name}` : name));
export const listArb: fc.Arbitrary<RawList> = fc.oneof(termArb, fc.array(termArb, { minLength: 1, maxLength: 4 }));
export const keyArb = fc.oneof(fc.constant('*'), fc.constantFrom(...USERS), fc.constantFrom(...GROUPS).map((g) => `group:${g}`));
export const entryArb: fc.Arbitrary<RawEntry> = fc.oneof(
  listArb.map((d) => ({ default: d })),
  listArb.map((l) => ({ limit: l })),
  fc.tuple(listArb, listArb).map(([d, l]) => ({ default: d, limit: l })),
);
export const siteArb: fc.Arbitrary<RawSite> = fc.dictionary(keyArb, fc.dictionary(keyArb, entryArb, { maxKeys: 4 }), { maxKeys: 4 });
export const uaArb: fc.Arbitrary<RawUa | undefined> = fc.option(fc.dictionary(keyArb, listArb, { maxKeys: 5 }), { nil: undefined });
export const requestArb: fc.Arbitrary<AuthzRequest> = fc.record({
  owner: fc.constantFrom(...USERS),
  ownerGroups: fc.subarray(GROUPS),
  user: fc.constantFrom(...USERS),
  userGroups: fc.subarray(GROUPS),
});

