import { describe, expect, it } from 'vitest';
import { Authorizer, ALL_OPERATIONS, parseSiteAuthorization, parseUserAuthorization } from '../../src/authz/index.js';

const request = { owner: 'alice', ownerGroups: ['staff'], user: 'bob', userGroups: ['ops'] };
const openSite = parseSiteAuthorization({ '*': { '*': { default: 'READ', limit: 'ALL' } } });

describe('Authorizer', () => {
  it('gives the owner everything, even with no configuration at all', () => {
    expect([...new Authorizer().permitted({ ...request, user: 'alice' })]).toEqual([...ALL_OPERATIONS]);
  });

  it('gives others nothing without site_authorization', () => {
    const authz = new Authorizer();
    authz.setUserAuthorization('alice', parseUserAuthorization({ bob: 'ALL' }));
    expect([...authz.permitted(request)]).toEqual([]);
  });

  it('uses each owner\'s own user_authorization', () => {
    const authz = new Authorizer(openSite);
    authz.setUserAuthorization('alice', parseUserAuthorization({ bob: 'pause' }));
    expect([...authz.permitted(request)]).toEqual(['pause']);
    expect([...authz.permitted({ ...request, owner: 'carol' })]).toEqual(['read']);
  });

  it('caches a decision and shares it for any order of groups', () => {
    const authz = new Authorizer(openSite);
    const first = authz.permitted({ ...request, userGroups: ['a', 'b'] });
    expect(authz.cachedDecisions).toBe(1);
    expect(authz.permitted({ ...request, userGroups: ['b', 'a'] })).toBe(first);
    expect(authz.cachedDecisions).toBe(1);
  });

  it('hands out sets that cannot be changed', () => {
    const set = new Authorizer(openSite).permitted(request) as Set<string>;
    expect(typeof (set as { add?: unknown }).add).toBe('undefined');
    expect(set.has('read')).toBe(true);
    expect(set.size).toBe(1);
  });

  it('drops the cache on setSite', () => {
    const authz = new Authorizer(openSite);
    expect([...authz.permitted(request)]).toEqual(['read']);
    authz.setSite(parseSiteAuthorization({ '*': { '*': { default: ['READ', 'stop'] } } }));
    expect([...authz.permitted(request)]).toEqual(['read', 'stop']);
    authz.setSite(undefined);
    expect([...authz.permitted(request)]).toEqual([]);
  });

  it('drops the cache on setUserAuthorization, and removing it brings back the defaults', () => {
    const authz = new Authorizer(openSite);
    expect([...authz.permitted(request)]).toEqual(['read']);
    authz.setUserAuthorization('alice', parseUserAuthorization({ bob: '!ALL' }));
    expect([...authz.permitted(request)]).toEqual([]);
    authz.setUserAuthorization('alice', undefined);
    expect([...authz.permitted(request)]).toEqual(['read']);
  });

  it('drops the cache on clearCache (a membership change)', () => {
    const authz = new Authorizer(openSite);
    authz.setUserAuthorization('alice', parseUserAuthorization({ 'group:ops': 'CONTROL' }));
    const inOps = authz.permitted(request);
    expect(inOps.has('stop')).toBe(true);
    expect(authz.cachedDecisions).toBe(1);
    authz.clearCache();
    expect(authz.cachedDecisions).toBe(0);
  });

  it('keeps the cache bounded', () => {
    const authz = new Authorizer(openSite, { cacheSize: 3 });
    for (let i = 0; i < 100; i++) {
      expect([...authz.permitted({ ...request, user: `v${i}` })]).toEqual(['read']);
      expect(authz.cachedDecisions).toBe(Math.min(i + 1, 3));
    }
  });

  it('never serves a decision made with other groups: leaving a group takes its grant away at once', () => {
    const authz = new Authorizer(openSite);
    authz.setUserAuthorization('alice', parseUserAuthorization({ 'group:ops': 'CONTROL', 'group:banned': '!ALL' }));
    const groups = ['ops'];
    expect(authz.permitted({ ...request, userGroups: groups }).has('stop')).toBe(true);
    // The same list changed in place, then fresh lists: each is decided for what it holds now.
    groups[0] = 'chemistry';
    expect([...authz.permitted({ ...request, userGroups: groups })]).toEqual(['read']);
    expect([...authz.permitted({ ...request, userGroups: ['ops', 'banned'] })]).toEqual([]);
    expect([...authz.permitted({ ...request, userGroups: ['ops', 'ops'] })]).toContain('stop');
    expect([...authz.permitted({ ...request, userGroups: ['banned', 'ops', 'ops'] })]).toEqual([]);
    // The owner's groups count too: a site entry for group:staff owners narrows what bob gets.
    const site = new Authorizer(parseSiteAuthorization({ '*': { '*': { default: 'READ', limit: 'ALL' } }, 'group:staff': { '*': { limit: '!ALL' } } }));
    expect([...site.permitted({ ...request, ownerGroups: [] })]).toEqual(['read']);
    expect([...site.permitted({ ...request, ownerGroups: ['staff'] })]).toEqual([]);
    expect([...site.permitted({ ...request, ownerGroups: [] })]).toEqual(['read']);
  });

  it('keeps decisions in use when the cache is full, and drops one not used since', () => {
    const authz = new Authorizer(openSite, { cacheSize: 2 });
    const first = { ...request, user: 'v1' };
    authz.permitted(first);
    authz.permitted({ ...request, user: 'v2' });
    authz.permitted(first);
    authz.permitted({ ...request, user: 'v3' });
    expect(authz.cachedDecisions).toBe(2);
    // v2 went; v1, used again, stayed: asking for it again adds nothing.
    authz.permitted(first);
    expect(authz.cachedDecisions).toBe(2);
    authz.permitted({ ...request, user: 'v2' });
    expect(authz.cachedDecisions).toBe(2);
  });

  it('fails closed on a malformed request and does not cache it', () => {
    const authz = new Authorizer(openSite);
    expect([...authz.permitted({ ...request, user: '' })]).toEqual([]);
    expect([...authz.permitted({ ...request, userGroups: [42] as unknown as string[] })]).toEqual([]);
    expect([...authz.permitted(undefined as unknown as typeof request)]).toEqual([]);
    expect(authz.cachedDecisions).toBe(0);
  });

  it('explains with the same configuration it decides with', () => {
    const authz = new Authorizer(openSite);
    authz.setUserAuthorization('alice', parseUserAuthorization({ bob: ['read', 'pause'] }));
    const e = authz.explain(request);
    expect(e.result).toEqual([...authz.permitted(request)]);
    expect(e.grants.fromKeys).toEqual([{ key: 'bob', section: 'user_authorization', terms: ['read', 'pause'] }]);
  });
});
