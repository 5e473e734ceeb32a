import { describe, expect, it } from 'vitest';
import { formatScope, KNOWN_SCOPES, parseScope, ScopeError, subscopesOf } from '../../src/config/scopes.js';

describe('scopes', () => {
  it('knows at least the scopes the hub relies on', () => {
    for (const scope of ['self', 'access:servers', 'servers', 'read:servers', 'admin:users', 'admin:groups', 'tokens', 'read:users', 'list:users', 'admin:servers']) {
      expect(KNOWN_SCOPES).toContain(scope);
    }
  });

  it('knows all of JupyterHub 5\'s scopes (and 6\'s start:servers) with their subscopes', () => {
    const jupyterhub = ['(no_scope)', 'self', 'inherit', 'admin-ui', 'admin:users', 'admin:auth_state', 'users', 'delete:users', 'list:users', 'read:users', 'read:users:name', 'read:users:groups', 'read:users:activity', 'read:roles', 'read:roles:users', 'read:roles:services', 'read:roles:groups', 'users:activity', 'admin:servers', 'admin:server_state', 'servers', 'read:servers', 'start:servers', 'delete:servers', 'tokens', 'read:tokens', 'admin:groups', 'groups', 'list:groups', 'read:groups', 'read:groups:name', 'delete:groups', 'admin:services', 'list:services', 'read:services', 'read:services:name', 'read:hub', 'access:servers', 'access:services', 'users:shares', 'read:users:shares', 'groups:shares', 'read:groups:shares', 'read:shares', 'shares', 'proxy', 'shutdown', 'read:metrics'];
    expect(jupyterhub).toHaveLength(48);
    expect(KNOWN_SCOPES.filter((s) => !s.startsWith('custom:')).sort()).toEqual([...jupyterhub].sort());
    expect(subscopesOf('read:users')).toEqual(['read:users:name', 'read:users:groups', 'read:users:activity']);
    expect(subscopesOf('list:users')).toEqual(['read:users:name']);
    expect(subscopesOf('servers')).toEqual(['read:servers', 'start:servers', 'delete:servers']);
  });

  it('parses the filters !user=, !group=, !server=, !service= and the bare holder filters', () => {
    expect(parseScope('read:servers!server=alice/')).toEqual({ scope: 'read:servers', filter: { kind: 'server', name: 'alice/' } });
    expect(parseScope('read:services!service=culler')).toEqual({ scope: 'read:services', filter: { kind: 'service', name: 'culler' } });
    expect(parseScope('access:servers!user')).toEqual({ scope: 'access:servers', filter: { kind: 'user', name: undefined } });
    expect(formatScope(parseScope('access:servers!user'))).toBe('access:servers!user');
    expect(formatScope(parseScope('servers!group=physics'))).toBe('servers!group=physics');
  });

  it('parses plain and filtered scopes', () => {
    expect(parseScope('servers')).toEqual({ scope: 'servers' });
    expect(parseScope('access:servers!user=bob')).toEqual({ scope: 'access:servers', filter: { kind: 'user', name: 'bob' } });
    expect(parseScope('servers!group=physics')).toEqual({ scope: 'servers', filter: { kind: 'group', name: 'physics' } });
  });

  it.each([
    ['Servers', /unknown scope "Servers"; did you mean "servers"\?/],
    ['', /unknown scope ""/],
    ['servers!server=alice', /filter "!server=" on scope "servers" needs a server USER\/ /],
    ['servers!group', /filter "!group" on scope "servers" needs a name: !group=NAME/],
    ['servers!usr=bob', /unknown filter "!usr=bob" on scope "servers"; did you mean "user"\?/],
    ['all', /unknown scope "all"; JupyterHub calls it "inherit"/],
    ['servers!user=', /filter "!user=" on scope "servers" needs a valid user name, got ""/],
    ['servers!user=a/b', /needs a valid user name, got "a\/b"/],
    ['servers!user=bob!group=x', /needs a valid user name, got "bob!group=x"/],
  ])('refuses %j', (text, message) => {
    expect(() => parseScope(text)).toThrow(ScopeError);
    expect(() => parseScope(text)).toThrow(message);
  });
});
