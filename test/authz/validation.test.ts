import { describe, expect, it } from 'vitest';
import {
  AuthzConfigError,
  parseSiteAuthorization,
  parseUserAuthorization,
} from '../../src/authz/index.js';
import { WORKED_SITE } from './fixtures.js';

/** The lines of the AuthzConfigError that `parse` throws. */
function errorsOf(parse: () => unknown): string[] {
  try {
    parse();
  } catch (err) {
    expect(err).toBeInstanceOf(AuthzConfigError);
    return (err as AuthzConfigError).message.split('\n');
  }
  throw new Error('expected an AuthzConfigError');
}

const siteErrors = (raw: unknown, where?: string) => errorsOf(() => parseSiteAuthorization(raw, where));
const userErrors = (raw: unknown) => errorsOf(() => parseUserAuthorization(raw));

describe('valid configurations', () => {
  it('accepts the worked-example site and normalises spellings', () => {
    const site = parseSiteAuthorization(WORKED_SITE);
    expect(site.toJSON()).toEqual({
      '*': { '*': { default: ['read'] }, user1: { default: ['!ALL'] } },
      server_owner_1: { '*': { default: ['read'], limit: ['read', 'CONTROL'] } },
      server_owner_2: { user2: { limit: ['ALL'] }, 'group:groupA': { default: ['read', 'CONTROL'] } },
      'group:owners': { 'group:groupB': { default: ['read'], limit: ['read', 'CONTROL', '!stop', '!kill'] } },
    });
  });

  it('reads a single string as a one-item list', () => {
    expect(parseUserAuthorization({ bob: 'Ext-Trigger' }).toJSON()).toEqual({ bob: ['ext_trigger'] });
  });

  it('accepts an empty user_authorization, keys matching no one and literal glob-looking names', () => {
    expect(parseUserAuthorization({}).grants.size).toBe(0);
    expect(parseUserAuthorization({ 'ali*': ['read'] }).toJSON()).toEqual({ 'ali*': ['read'] });
  });

  it('puts errors under the name it is given', () => {
    expect(siteErrors([], 'WorkflowServer › site_authorization')).toEqual([
      'WorkflowServer › site_authorization: expected an object mapping owner keys to access-user sections, got a list',
    ]);
  });
});

describe('validation errors say where and what', () => {
  it('unknown negated permission, with a suggestion (the example of the issue)', () => {
    expect(siteErrors({ 'group:owners': { 'group:ops': { limit: ['!stpo'] } } })).toEqual([
      'site_authorization › group:owners › group:ops › limit: unknown permission "!stpo"; did you mean "!stop"?',
    ]);
  });

  it('unknown positive permission, with a suggestion', () => {
    expect(userErrors({ bob: ['pase'] })).toEqual(['user_authorization › bob: unknown permission "pase"; did you mean "pause"?']);
  });

  it('unknown group-like permission suggests the group', () => {
    expect(userErrors({ bob: 'CONTRL' })).toEqual(['user_authorization › bob: unknown permission "CONTRL"; did you mean "CONTROL"?']);
  });

  it('unknown permission far from any name has no suggestion', () => {
    expect(userErrors({ bob: ['frobnicate'] })).toEqual(['user_authorization › bob: unknown permission "frobnicate"']);
  });

  it('empty lists', () => {
    expect(userErrors({ bob: [] })).toEqual(['user_authorization › bob: empty list: name the permissions, or write ["!ALL"] for none']);
    expect(siteErrors({ '*': { '*': { default: [] } } })).toEqual([
      'site_authorization › * › * › default: empty list: name the permissions, or write ["!ALL"] for none',
    ]);
  });

  it('non-string items, numbered from 1', () => {
    expect(userErrors({ bob: ['read', 7, null] })).toEqual([
      'user_authorization › bob: item 2: expected a permission name (a string), got the number 7',
      'user_authorization › bob: item 3: expected a permission name (a string), got null',
    ]);
  });

  it('unknown entry keys, with a suggestion', () => {
    expect(siteErrors({ '*': { bob: { default: 'READ', limt: 'ALL' } } })).toEqual([
      'site_authorization › * › bob › limt: unknown key "limt"; did you mean "limit"? (an entry may have only "default" and "limit")',
    ]);
  });

  it('an entry with neither default nor limit', () => {
    expect(siteErrors({ '*': { bob: {} } })).toEqual(['site_authorization › * › bob: an entry needs "default", "limit" or both']);
  });

  it('wrong shapes at every level', () => {
    expect(siteErrors('READ')).toEqual([
      'site_authorization: expected an object mapping owner keys to access-user sections, got the string "READ"',
    ]);
    expect(siteErrors({ alice: ['READ'] })).toEqual([
      'site_authorization › alice: expected an object mapping access-user keys to entries, got a list',
    ]);
    expect(siteErrors({ alice: { bob: 'READ' } })).toEqual([
      'site_authorization › alice › bob: expected an object with "default", "limit" or both, got the string "READ"',
    ]);
    expect(siteErrors({ alice: { bob: { limit: { read: true } } } })).toEqual([
      'site_authorization › alice › bob › limit: expected a permission name or a list of them, got an object',
    ]);
    expect(userErrors(null)).toEqual([
      'user_authorization: expected an object mapping access-user keys to permissions, got null',
    ]);
    expect(userErrors({ bob: true })).toEqual([
      'user_authorization › bob: expected a permission name or a list of them, got true',
    ]);
  });

  it('bad key forms: the empty key and group: without a name', () => {
    expect(userErrors({ '': ['read'] })).toEqual(['user_authorization › "": empty key: write "*", a user name or "group:<name>"']);
    expect(userErrors({ 'group:': ['read'] })).toEqual([
      'user_authorization › group:: group key without a group name: write "group:<name>"',
    ]);
    expect(siteErrors({ 'group:': { '': { default: 'READ' } } })).toEqual([
      'site_authorization › group:: group key without a group name: write "group:<name>"',
      'site_authorization › group: › "": empty key: write "*", a user name or "group:<name>"',
    ]);
  });

  it('collects every issue, not just the first, with structured paths', () => {
    let error: AuthzConfigError | undefined;
    try {
      parseSiteAuthorization({
        '*': { '*': { default: 'READ' }, bob: { default: ['!stpo', 'reed'], limt: 'ALL' } },
        alice: { eve: { limit: [] } },
      });
    } catch (err) {
      error = err as AuthzConfigError;
    }
    expect(error?.issues).toEqual([
      { path: ['site_authorization', '*', 'bob', 'limt'], message: 'unknown key "limt"; did you mean "limit"? (an entry may have only "default" and "limit")' },
      { path: ['site_authorization', '*', 'bob', 'default'], message: 'unknown permission "!stpo"; did you mean "!stop"?' },
      { path: ['site_authorization', '*', 'bob', 'default'], message: 'unknown permission "reed"; did you mean "read"?' },
      { path: ['site_authorization', 'alice', 'eve', 'limit'], message: 'empty list: name the permissions, or write ["!ALL"] for none' },
    ]);
    expect(error?.message.split('\n')).toHaveLength(4);
  });

  it('a __proto__ key is an ordinary key, not a prototype change', () => {
    const ua = parseUserAuthorization(JSON.parse('{"__proto__": ["read"]}'));
    expect(ua.toJSON()).toEqual(JSON.parse('{"__proto__": ["read"]}'));
    expect(ua.grants.get('__proto__')?.terms).toEqual(['read']);
  });
});
