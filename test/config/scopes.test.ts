import { describe, expect, it } from 'vitest';
import { KNOWN_SCOPES, parseScope, ScopeError } from '../../src/config/scopes.js';

describe('scopes', () => {
  it('knows at least the scopes the hub relies on', () => {
    for (const scope of ['self', 'access:servers', 'servers', 'read:servers', 'admin:users', 'admin:groups', 'tokens', 'read:users', 'list:users', 'admin:servers']) {
      expect(KNOWN_SCOPES).toContain(scope);
    }
  });

  it('parses plain and filtered scopes', () => {
    expect(parseScope('servers')).toEqual({ scope: 'servers' });
    expect(parseScope('access:servers!user=bob')).toEqual({ scope: 'access:servers', filter: { kind: 'user', name: 'bob' } });
    expect(parseScope('servers!group=physics')).toEqual({ scope: 'servers', filter: { kind: 'group', name: 'physics' } });
  });

  it.each([
    ['Servers', /unknown scope "Servers"; did you mean "servers"\?/],
    ['', /unknown scope ""/],
    ['servers!server=alice/x', /unknown filter "!server=alice\/x" on scope "servers"/],
    ['servers!user', /filter "!user=" on scope "servers" needs a valid user name, got ""/],
    ['servers!user=a/b', /needs a valid user name, got "a\/b"/],
    ['servers!user=bob!group=x', /needs a valid user name, got "bob!group=x"/],
  ])('refuses %j', (text, message) => {
    expect(() => parseScope(text)).toThrow(ScopeError);
    expect(() => parseScope(text)).toThrow(message);
  });
});
