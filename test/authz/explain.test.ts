import { describe, expect, it } from 'vitest';
import {
  ALL_OPERATIONS,
  explainDecision,
  formatExplanation,
  parseSiteAuthorization,
  parseUserAuthorization,
} from '../../src/authz/index.js';
import { WORKED_SITE, controlExcept, withRead } from './fixtures.js';

const site = parseSiteAuthorization(WORKED_SITE);

describe('explanation of a decision by the rules', () => {
  const ua = parseUserAuthorization({ 'group:groupB': ['READ', 'CONTROL'], carol: 'ALL' });
  const request = { owner: 'olga', ownerGroups: ['owners'], user: 'gus', userGroups: ['groupB'] };
  const e = explainDecision(site, ua, request);

  it('is plain JSON', () => {
    expect(JSON.parse(JSON.stringify(e))).toEqual(e);
  });

  it('lists the candidate and matched owner and user keys', () => {
    expect(e.decidedBy).toBe('rules');
    expect(e.ownerKeys).toEqual({ candidates: ['*', 'group:owners', 'olga'], matched: ['*', 'group:owners'] });
    expect(e.userKeys).toEqual({
      candidates: ['*', 'group:groupB', 'gus'],
      matchedInSite: ['*', 'group:groupB'],
      matchedInUserAuthorization: ['group:groupB'],
      matchedInWorkflowAuthorization: [],
    });
  });

  it('lists each site entry used with where its limit came from', () => {
    expect(e.entries).toEqual([
      { ownerKey: '*', userKey: '*', default: ['read'], limit: null, limitFrom: 'default' },
      {
        ownerKey: 'group:owners',
        userKey: 'group:groupB',
        default: ['read'],
        limit: ['read', 'CONTROL', '!stop', '!kill'],
        limitFrom: 'limit',
      },
    ]);
  });

  it('shows limits before and after expansion, with the negations', () => {
    expect(e.limits.terms).toEqual(['!kill', '!stop', 'CONTROL', 'read']);
    expect(e.limits.negated).toEqual(['kill', 'stop']);
    expect(e.limits.added).toEqual(withRead(controlExcept()));
    expect(e.limits.operations).toEqual(withRead(controlExcept('stop', 'kill')));
    expect(e.defaults.operations).toEqual(['read']);
  });

  it('shows the grants and the user keys that supplied them', () => {
    expect(e.grants.source).toBe('user_authorization');
    expect(e.grants.fromKeys).toEqual([{ key: 'group:groupB', section: 'user_authorization', terms: ['read', 'CONTROL'] }]);
    expect(e.grants.operations).toEqual(withRead(controlExcept()));
  });

  it('gives the result and a summary that names it', () => {
    expect(e.result).toEqual(withRead(controlExcept('stop', 'kill')));
    expect(e.summary).toBe(
      "gus on olga's server may do read + CONTROL (except kill, stop): the site limit (2 entries) allows read + CONTROL (except kill, stop); " +
        'olga grants read + all of CONTROL (under group:groupB).',
    );
  });

  it('reads as numbered steps', () => {
    const text = formatExplanation(e);
    expect(text).toContain('1. Owner keys: *, group:owners, olga');
    expect(text).toContain('group:owners › group:groupB: default read; limit read, CONTROL, !stop, !kill');
    expect(text).toContain('3. Grants from user_authorization, keys group:groupB:');
    expect(text).toContain('   negated:         kill, stop');
    expect(text).toMatch(/4\. Permitted = limits ∩ grants: clean, ext_trigger, hold, message, pause/);
  });
});

describe('explanation when the defaults are used', () => {
  it('says the owner did not mention the user and shows the defaults as grants', () => {
    const e = explainDecision(site, undefined, { owner: 'server_owner_2', ownerGroups: [], user: 'ann', userGroups: ['groupA'] });
    expect(e.grants.source).toBe('defaults');
    expect(e.grants.fromKeys).toEqual([]);
    expect(e.grants.terms).toEqual(['CONTROL', 'read']);
    expect(e.limits.terms).toEqual(['CONTROL', 'read']);
    expect(e.result).toEqual(withRead(controlExcept()));
    expect(e.summary).toContain("server_owner_2 did not mention ann, so the site default applies: read + all of CONTROL");
    expect(formatExplanation(e)).toContain('mentions none of the user keys, so grants = the defaults');
  });

  it('says so when no entry applies', () => {
    const e = explainDecision(parseSiteAuthorization({ alice: { carol: { default: 'READ' } } }), undefined, {
      owner: 'alice', ownerGroups: [], user: 'bob', userGroups: [],
    });
    expect(e.entries).toEqual([]);
    expect(e.result).toEqual([]);
    expect(e.summary).toContain('no site_authorization entry applies, so the limit is nothing');
  });
});

describe('explanation of special cases', () => {
  it('the owner gets everything', () => {
    const e = explainDecision(site, undefined, { owner: 'alice', ownerGroups: [], user: 'alice', userGroups: [] });
    expect(e.decidedBy).toBe('owner');
    expect(e.result).toEqual([...ALL_OPERATIONS]);
    expect(e.summary).toBe('alice owns this server: every operation is permitted.');
  });

  it('without site_authorization nobody else gets anything', () => {
    const e = explainDecision(undefined, parseUserAuthorization({ bob: 'ALL' }), { owner: 'alice', ownerGroups: [], user: 'bob', userGroups: [] });
    expect(e.decidedBy).toBe('no-site-authorization');
    expect(e.result).toEqual([]);
    expect(e.summary).toContain('nobody but the owner (alice)');
  });

  it('a malformed request is explained as an error with nothing permitted', () => {
    const e = explainDecision(site, undefined, { owner: 'alice', ownerGroups: [], user: 'group:x', userGroups: [] });
    expect(e.decidedBy).toBe('error');
    expect(e.result).toEqual([]);
    expect(e.error).toBe('user "group:x" is not a usable name');
  });

  it('does not depend on the order of groups or keys', () => {
    const reversed = parseSiteAuthorization(Object.fromEntries(Object.entries(WORKED_SITE).reverse()));
    const a = explainDecision(site, undefined, { owner: 'o', ownerGroups: ['owners', 'z'], user: 'u', userGroups: ['groupB', 'groupA'] });
    const b = explainDecision(reversed, undefined, { owner: 'o', ownerGroups: ['z', 'owners'], user: 'u', userGroups: ['groupA', 'groupB'] });
    expect(b).toEqual(a);
  });
});
