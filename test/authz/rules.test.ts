import { describe, expect, it } from 'vitest';
import {
  ALL_OPERATIONS,
  CONTROL_OPERATIONS,
  decide,
  parseSiteAuthorization,
  parseUserAuthorization,
  type Operation,
} from '../../src/authz/index.js';
import { WORKED_SITE, controlExcept, sortedOps, withRead } from './fixtures.js';

interface Who {
  owner?: string;
  ownerGroups?: string[];
  user?: string;
  userGroups?: string[];
}

function permitted(site: unknown, ua: unknown, who: Who = {}): Operation[] {
  return sortedOps(
    decide(site === undefined ? undefined : parseSiteAuthorization(site), ua === undefined ? undefined : parseUserAuthorization(ua), {
      owner: who.owner ?? 'alice',
      ownerGroups: who.ownerGroups ?? [],
      user: who.user ?? 'bob',
      userGroups: who.userGroups ?? [],
    }),
  );
}

const ALL = sortedOps(ALL_OPERATIONS);
const everyoneAll = { '*': { '*': { limit: 'ALL' } } };

describe('the owner', () => {
  it('can do everything on their own server, whatever the configuration says', () => {
    expect(permitted(undefined, undefined, { user: 'alice' })).toEqual(ALL);
    expect(permitted({ '*': { '*': { default: '!ALL' } } }, { alice: ['!ALL'], '*': ['!ALL'] }, { user: 'alice' })).toEqual(ALL);
  });
});

describe('no site_authorization', () => {
  it('nobody but the owner can do anything, whatever the owner wrote', () => {
    expect(permitted(undefined, { bob: ['ALL'], '*': ['ALL'] })).toEqual([]);
    expect(permitted(undefined, undefined)).toEqual([]);
  });
});

describe('1. owner keys and user keys', () => {
  const site = { '*': { '*': { limit: 'ALL' } } };

  it('the user key may be *, the user name or one of their groups', () => {
    expect(permitted(site, { '*': 'read' })).toEqual(['read']);
    expect(permitted(site, { bob: 'read' })).toEqual(['read']);
    expect(permitted(site, { 'group:ops': 'read' }, { userGroups: ['ops'] })).toEqual(['read']);
    expect(permitted(site, { 'group:ops': 'read' }, { userGroups: ['dev'] })).toEqual([]);
    expect(permitted(site, { carol: 'read' })).toEqual([]);
  });

  it('the owner key may be *, the owner name or one of their groups', () => {
    const entry = { '*': { limit: 'ALL', default: 'READ' } };
    expect(permitted({ alice: entry }, undefined)).toEqual(['read']);
    expect(permitted({ 'group:staff': entry }, undefined, { ownerGroups: ['staff'] })).toEqual(['read']);
    expect(permitted({ 'group:staff': entry }, undefined, { ownerGroups: ['other'] })).toEqual([]);
    expect(permitted({ carol: entry }, undefined)).toEqual([]);
  });

  it('the owner\'s groups are not the user\'s groups and vice versa', () => {
    expect(permitted({ '*': { 'group:ops': { default: 'READ' } } }, undefined, { ownerGroups: ['ops'] })).toEqual([]);
    expect(permitted({ 'group:ops': { '*': { default: 'READ' } } }, undefined, { userGroups: ['ops'] })).toEqual([]);
  });

  it('glob patterns are literal names', () => {
    expect(permitted({ '*': { 'b*': { default: 'READ' } } }, undefined)).toEqual([]);
    expect(permitted({ '*': { 'b*': { default: 'READ' } } }, undefined, { user: 'b*' })).toEqual(['read']);
  });
});

describe('2. limits and defaults', () => {
  it('an entry with only a default has that default as its limit', () => {
    expect(permitted({ '*': { bob: { default: 'READ' } } }, { bob: 'ALL' })).toEqual(['read']);
  });

  it('an entry with only a limit has no default', () => {
    expect(permitted({ '*': { bob: { limit: 'ALL' } } }, undefined)).toEqual([]);
    expect(permitted({ '*': { bob: { limit: 'ALL' } } }, { bob: 'pause' })).toEqual(['pause']);
  });

  it('an entry with both uses its limit, not its default, as the limit', () => {
    expect(permitted({ '*': { bob: { default: 'READ', limit: ['READ', 'stop'] } } }, { bob: 'ALL' })).toEqual(['read', 'stop']);
  });

  it('limits are the union over every entry under any owner key and any user key', () => {
    const site = {
      '*': { '*': { limit: 'read' } },
      alice: { 'group:ops': { limit: 'pause' } },
      'group:staff': { bob: { limit: 'stop' } },
    };
    expect(permitted(site, { bob: 'ALL' }, { ownerGroups: ['staff'], userGroups: ['ops'] })).toEqual(['pause', 'read', 'stop']);
  });

  it('defaults are the union over every entry', () => {
    const site = { '*': { '*': { default: 'read' } }, alice: { bob: { default: 'pause' } } };
    expect(permitted(site, undefined)).toEqual(['pause', 'read']);
  });

  it('no entry for the user means no limit, so nothing', () => {
    expect(permitted({ alice: { carol: { limit: 'ALL', default: 'ALL' } } }, { bob: 'ALL' })).toEqual([]);
  });
});

describe('3. what the owner grants', () => {
  it('grants are the union over every present user key', () => {
    expect(permitted(everyoneAll, { '*': 'read', bob: 'pause', 'group:ops': 'stop' }, { userGroups: ['ops'] })).toEqual([
      'pause',
      'read',
      'stop',
    ]);
  });

  it('defaults apply only to users the owner did not mention', () => {
    const site = { '*': { '*': { default: 'READ', limit: 'ALL' } } };
    expect(permitted(site, { carol: 'ALL' })).toEqual(['read']);
    expect(permitted(site, { bob: 'pause' })).toEqual(['pause']);
  });

  it('mentioning a user through * counts as mentioning them', () => {
    const site = { '*': { '*': { default: 'READ', limit: 'ALL' } } };
    expect(permitted(site, { '*': 'pause' })).toEqual(['pause']);
  });

  it('mentioning a user through one of their groups counts as mentioning them', () => {
    const site = { '*': { '*': { default: 'READ', limit: 'ALL' } } };
    expect(permitted(site, { 'group:ops': 'pause' }, { userGroups: ['ops'] })).toEqual(['pause']);
  });

  it('a mention with only negations leaves the user nothing, not the defaults', () => {
    const site = { '*': { '*': { default: 'READ', limit: 'ALL' } } };
    expect(permitted(site, { bob: '!stop' })).toEqual([]);
  });
});

describe('4. expand and negate', () => {
  it('group names expand to their operations', () => {
    expect(permitted(everyoneAll, { bob: 'CONTROL' })).toEqual(sortedOps(CONTROL_OPERATIONS));
    expect(permitted(everyoneAll, { bob: 'ALL' })).toEqual(ALL);
  });

  it('CONTROL does not include read, and only ALL includes broadcast', () => {
    expect(permitted(everyoneAll, { bob: 'CONTROL' })).not.toContain('read');
    expect(permitted(everyoneAll, { bob: ['READ', 'CONTROL'] })).not.toContain('broadcast');
    expect(permitted(everyoneAll, { bob: 'broadcast' })).toEqual(['broadcast']);
  });

  it('a negated group negates every one of its operations', () => {
    expect(permitted(everyoneAll, { bob: ['ALL', '!CONTROL'] })).toEqual(['broadcast', 'read']);
  });

  it('a negation beats an addition from another key', () => {
    expect(permitted(everyoneAll, { '*': 'ALL', bob: '!stop' })).toEqual(ALL.filter((op) => op !== 'stop'));
  });

  it('a negation in one site entry beats an addition in another', () => {
    const site = { '*': { '*': { limit: 'ALL' } }, alice: { bob: { limit: '!stop' } } };
    expect(permitted(site, { bob: 'CONTROL' })).toEqual(controlExcept('stop'));
  });

  it('negations in limits and grants act separately: a grant negation does not touch limits', () => {
    // The limit negates kill; the grant negates stop: both are gone, nothing else is.
    const site = { '*': { '*': { limit: ['CONTROL', '!kill'] } } };
    expect(permitted(site, { bob: ['CONTROL', '!stop'] })).toEqual(controlExcept('kill', 'stop'));
  });

  it('spellings in configuration do not matter', () => {
    expect(permitted(everyoneAll, { bob: ['ExtTrigger', 'Ext-trigger', 'SET_OUTPUTS'] })).toEqual(['ext_trigger', 'set_outputs']);
    expect(permitted(everyoneAll, { bob: ['control', '!ExtTrigger'] })).toEqual(controlExcept('ext_trigger'));
  });
});

describe('5. permitted = expanded limits ∩ expanded grants', () => {
  it('an owner cannot exceed the limit: ALL under a READ limit yields read only', () => {
    expect(permitted({ '*': { '*': { limit: 'READ' } } }, { bob: 'ALL' })).toEqual(['read']);
  });

  it('a limit alone permits nothing that is not granted', () => {
    expect(permitted(everyoneAll, { bob: 'read' })).toEqual(['read']);
  });
});

describe('consequences worth a test each', () => {
  const ownerFile = { '*': ['READ'], 'group:ops': ['CONTROL'], bob: ['read', 'pause', '!play'], eve: ['!ALL'] };

  it('under a site limit of ALL, bob in ops gets every CONTROL operation but play, plus read', () => {
    expect(permitted(everyoneAll, ownerFile, { userGroups: ['ops'] })).toEqual(withRead(controlExcept('play')));
  });

  it('under a site limit of READ, the same bob gets read alone', () => {
    expect(permitted({ '*': { '*': { limit: 'READ' } } }, ownerFile, { userGroups: ['ops'] })).toEqual(['read']);
  });

  it('"eve": ["!ALL"] leaves eve nothing, even if * grants READ', () => {
    expect(permitted(everyoneAll, ownerFile, { user: 'eve' })).toEqual([]);
  });

  it('someone else, mentioned only by *, gets READ', () => {
    expect(permitted(everyoneAll, ownerFile, { user: 'carol' })).toEqual(['read']);
  });
});

describe('worked examples (site configuration of AUTHORIZATION.md)', () => {
  it('any user visiting any owner who wrote nothing: read', () => {
    expect(permitted(WORKED_SITE, undefined, { owner: 'alice', user: 'carol' })).toEqual(['read']);
    expect(permitted(WORKED_SITE, {}, { owner: 'server_owner_1', user: 'carol' })).toEqual(['read']);
  });

  it('user1 visiting any owner who wrote nothing about them: nothing', () => {
    expect(permitted(WORKED_SITE, undefined, { owner: 'alice', user: 'user1' })).toEqual([]);
    expect(permitted(WORKED_SITE, { carol: 'ALL' }, { owner: 'server_owner_1', user: 'user1' })).toEqual([]);
  });

  it('no owner can give user1 anything, since the limit includes !ALL', () => {
    expect(permitted(WORKED_SITE, { user1: 'ALL' }, { owner: 'alice', user: 'user1' })).toEqual([]);
    expect(permitted(WORKED_SITE, { user1: 'ALL', '*': 'ALL' }, { owner: 'server_owner_1', user: 'user1' })).toEqual([]);
  });

  it('a member of groupB visiting a member of owners who granted READ and CONTROL: read and CONTROL except stop and kill', () => {
    expect(
      permitted(WORKED_SITE, { 'group:groupB': ['READ', 'CONTROL'] }, { owner: 'olga', ownerGroups: ['owners'], user: 'gus', userGroups: ['groupB'] }),
    ).toEqual(withRead(controlExcept('stop', 'kill')));
  });

  it('a member of groupA visiting server_owner_2 who wrote nothing: read and all of CONTROL', () => {
    expect(permitted(WORKED_SITE, undefined, { owner: 'server_owner_2', user: 'ann', userGroups: ['groupA'] })).toEqual(
      withRead(CONTROL_OPERATIONS),
    );
  });

  it('the */* default READ supplies a READ limit for everyone, so server_owner_1 cannot give broadcast', () => {
    expect(permitted(WORKED_SITE, { bob: 'ALL' }, { owner: 'server_owner_1' })).toEqual(withRead(CONTROL_OPERATIONS));
  });

  it('user2 on server_owner_2 may be given ALL, since that entry has limit ALL', () => {
    expect(permitted(WORKED_SITE, { user2: 'ALL' }, { owner: 'server_owner_2', user: 'user2' })).toEqual(ALL);
    expect(permitted(WORKED_SITE, undefined, { owner: 'server_owner_2', user: 'user2' })).toEqual(['read']);
  });
});

describe('order independence', () => {
  it('reordering sections, keys and list items never changes the result', () => {
    const reversed = Object.fromEntries(
      Object.entries(WORKED_SITE)
        .reverse()
        .map(([k, section]) => [k, Object.fromEntries(Object.entries(section).reverse())]),
    );
    const ua = { 'group:groupB': ['CONTROL', 'READ', '!pause'], '*': 'read' };
    const uaReversed = { '*': 'read', 'group:groupB': ['!pause', 'READ', 'CONTROL'] };
    const who = { owner: 'olga', ownerGroups: ['x', 'owners'], user: 'gus', userGroups: ['groupB', 'groupA'] };
    const whoReordered = { ...who, ownerGroups: ['owners', 'x'], userGroups: ['groupA', 'groupB'] };
    expect(permitted(reversed, uaReversed, whoReordered)).toEqual(permitted(WORKED_SITE, ua, who));
  });
});

describe('fail closed', () => {
  it.each([
    ['an empty user name', { user: '' }],
    ['a user named *', { user: '*' }],
    ['a user named like a group key', { user: 'group:ops' }],
    ['an empty owner name', { owner: '' }],
  ])('%s gets nothing', (_label, who) => {
    expect(permitted(everyoneAll, { '*': 'ALL' }, who)).toEqual([]);
  });

  it('malformed groups get nothing rather than an exception', () => {
    const site = parseSiteAuthorization(everyoneAll);
    const ua = parseUserAuthorization({ '*': 'ALL' });
    const bad = { owner: 'alice', ownerGroups: [], user: 'bob', userGroups: 'ops' as unknown as string[] };
    expect([...decide(site, ua, bad)]).toEqual([]);
    expect([...decide(site, ua, null as unknown as Parameters<typeof decide>[2])]).toEqual([]);
  });
});
