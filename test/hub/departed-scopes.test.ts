/**
 * What a grant allows on a name that has no account any more (its entry removed, its server
 * stopped): the same filters as on a live user, so a server filter reaches server scopes only.
 */
import { describe, expect, it } from 'vitest';
import { expandScopes, GrantSet, type MembershipSource } from '../../src/hub/roles/permissions.js';

const NOBODY: MembershipSource = { exists: () => false, isAdmin: () => false, groupsOf: () => [] };

function grantsOf(...scopes: string[]): GrantSet {
  return new GrantSet({ kind: 'user', name: 'ops' }, expandScopes(scopes, { kind: 'user', name: 'ops' }), NOBODY);
}

describe('scopes on a departed name', () => {
  it('follow user and server filters as they would on a live user', () => {
    expect(grantsOf('admin:users').canForDeparted('admin:users', 'bob')).toBe(true);
    expect(grantsOf('admin:users!user=bob').canForDeparted('admin:users', 'bob')).toBe(true);
    expect(grantsOf('admin:users!user=bob').canForDeparted('admin:users', 'carol')).toBe(false);
    expect(grantsOf('delete:servers!server=bob/').canForDeparted('delete:servers', 'bob')).toBe(true);
  });

  it('give nothing but server scopes through a server filter', () => {
    expect(grantsOf('admin:users!server=bob/').canForDeparted('admin:users', 'bob')).toBe(false);
  });
});
