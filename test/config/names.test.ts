import { describe, expect, it } from 'vitest';
import { assertValidUserName, InvalidNameError, isValidUserName } from '../../src/config/names.js';
import { closest, didYouMean, editDistance } from '../../src/config/suggest.js';

describe('user and group names', () => {
  it.each(['alice', 'bob.smith', 'carol_2', 'd-e', 'erin@example.org', '0day', 'A', 'x'.repeat(64)])('accepts %j', (name) => {
    expect(isValidUserName(name)).toBe(true);
  });

  it.each(['', '.', '..', '../etc', 'a/b', 'a%2Fb', '.hidden', '-dash', '_under', '@at', 'x'.repeat(65), 'zoë', 'a b', 'a:b', 'a\\b', 'a\nb'])(
    'refuses %j',
    (name) => {
      expect(isValidUserName(name)).toBe(false);
    },
  );

  it('refuses non-strings', () => {
    for (const value of [42, null, undefined, ['alice'], { name: 'alice' }]) expect(isValidUserName(value)).toBe(false);
  });

  it('assertValidUserName throws an error naming what was expected', () => {
    expect(() => assertValidUserName('../x', 'owner name')).toThrow(InvalidNameError);
    expect(() => assertValidUserName('../x', 'owner name')).toThrow(/^invalid owner name "\.\.\/x": names are 1 to 64/);
    expect(() => assertValidUserName('alice')).not.toThrow();
  });
});

describe('suggestions', () => {
  it('computes edit distances', () => {
    expect(editDistance('', '')).toBe(0);
    expect(editDistance('abc', '')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('bind_ur', 'bind_url')).toBe(1);
  });

  it('suggests only close candidates, ignoring case', () => {
    expect(closest('bind_ur', ['bind_url', 'data_dir'])).toBe('bind_url');
    expect(closest('Admin_Users', ['admin_users', 'allowed_users'])).toBe('admin_users');
    expect(closest('zzzzzz', ['bind_url', 'data_dir'])).toBeUndefined();
    expect(didYouMean('dta_dir', ['data_dir'])).toBe('; did you mean "data_dir"?');
    expect(didYouMean('xyz', ['data_dir'])).toBe('');
  });
});
