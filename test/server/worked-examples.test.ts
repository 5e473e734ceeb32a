/**
 * AUTHORIZATION.md's worked examples, each through the real server: GraphQL over HTTP (a query
 * for read, a mutation per operation), the WebSocket upgrade, the pages and the user profile.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONTROL_OPERATIONS, graphqlName, OPERATIONS } from '../../src/authz/index.js';
import { openSocket, startTestServer, type TestServer, type Who } from './helpers.js';

const SITE = {
  '*': { '*': { default: 'READ' }, user1: { default: ['!ALL'] } },
  server_owner_1: { '*': { default: 'READ', limit: ['READ', 'CONTROL'] } },
  server_owner_2: { user2: { limit: 'ALL' }, 'group:groupA': { default: ['READ', 'CONTROL'] } },
  'group:owners': { 'group:groupB': { default: 'READ', limit: ['READ', 'CONTROL', '!stop', '!kill'] } },
};

/** The profile's permissions; someone who may read nothing is refused the profile (403): nothing. */
async function permissionsOf(server: TestServer, who: Who): Promise<string[]> {
  const res = await server.get(who, `${server.base}api/userprofile`);
  if (res.status === 403) return [];
  expect(res.status).toBe(200);
  return res.body.permissions;
}

/** A mutation of one operation on a workflow that does not exist: refused (403) or run (200). */
async function tryOperation(server: TestServer, who: Who, op: string): Promise<number> {
  const name = graphqlName(op as never);
  const args = {
    stop: '', setOutputs: ', tasks: ["a"]', message: ', tasks: ["a"], text: "hi"', extTrigger: ', name: "x"',
    setHoldPoint: ', cyclePoint: 2', setGraphWindowExtent: ', extent: 1', setVerbosity: ', level: "INFO"',
    broadcast: ', settings: {env: {A: "1"}}', hold: ', tasks: ["a"]', release: ', tasks: ["a"]', kill: ', tasks: ["a"]',
    trigger: ', tasks: ["a"]', remove: ', tasks: ["a"]',
  }[name] ?? '';
  const res = await server.graphql(who, `mutation { ${name}(workflows: ["nope"]${args}) { workflow ok message } }`);
  if (res.status === 403) {
    expect(res.body).toEqual({ errors: [{ message: expect.any(String), extensions: { code: 'FORBIDDEN', operation: op, workflow: 'nope' } }] });
  } else {
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data[name][0]).toMatchObject({ workflow: 'nope', ok: false });
  }
  return res.status;
}

async function allowedOperations(server: TestServer, who: Who): Promise<string[]> {
  const allowed: string[] = [];
  const read = await server.graphql(who, '{ workflows { id } }');
  if (read.status === 200) allowed.push('read');
  else expect(read.body.errors[0].extensions).toEqual({ code: 'FORBIDDEN', operation: 'read', reason: expect.any(String) });
  for (const op of OPERATIONS) {
    if (op !== 'read' && (await tryOperation(server, who, op)) === 200) allowed.push(op);
  }
  return allowed.sort();
}

async function upgradeStatus(server: TestServer, who: Who): Promise<number> {
  const outcome = await openSocket(server, who);
  if (outcome.ok) {
    outcome.ws.close();
    return 101;
  }
  return outcome.status;
}

const CONTROL = [...CONTROL_OPERATIONS].sort();

describe('worked example: an owner who wrote nothing', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ owner: 'carol', site: SITE, groups: { misc: ['dave'] } });
  });
  afterAll(async () => server?.close());

  it('gives any user read, through every interface', async () => {
    const dave = { user: 'dave', groups: ['misc'] };
    expect(await permissionsOf(server, dave)).toEqual(['read']);
    expect(await allowedOperations(server, dave)).toEqual(['read']);
    expect(await upgradeStatus(server, dave)).toBe(101);
    await server.get(dave, server.base).expect(200);
  });

  it('gives user1 nothing: 403 on queries, pages and the upgrade', async () => {
    const user1 = { user: 'user1' };
    expect(await permissionsOf(server, user1)).toEqual([]);
    expect(await allowedOperations(server, user1)).toEqual([]);
    expect(await upgradeStatus(server, user1)).toBe(403);
    const page = await server.get(user1, server.base).expect(403);
    expect(page.text).toContain('You do not have access to carol&#39;s workflows');
  });

  it('always gives the owner everything', async () => {
    expect(await permissionsOf(server, { user: 'carol' })).toEqual(OPERATIONS.map(graphqlName));
  });
});

describe('worked example: user1 cannot be given anything', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ owner: 'frank', site: SITE, ua: { user1: ['ALL'], '*': ['READ'] } });
  });
  afterAll(async () => server?.close());

  it('leaves user1 nothing even when the owner grants ALL', async () => {
    expect(await allowedOperations(server, { user: 'user1' })).toEqual([]);
    expect(await upgradeStatus(server, { user: 'user1' })).toBe(403);
  });
});

describe('worked example: groupB visiting a member of owners', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ owner: 'olga', ownerGroups: ['owners'], groups: { groupB: ['gina'] }, site: SITE, ua: { 'group:groupB': ['READ', 'CONTROL'] } });
  });
  afterAll(async () => server?.close());

  it('gives read and every CONTROL operation except stop and kill', async () => {
    const member = { user: 'gina', groups: ['groupB'] };
    expect(await allowedOperations(server, member)).toEqual(['read', ...CONTROL.filter((op) => op !== 'stop' && op !== 'kill')].sort());
    expect(await upgradeStatus(server, member)).toBe(101);
  });
});

describe('worked example: groupA visiting server_owner_2 who wrote nothing', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ owner: 'server_owner_2', site: SITE, groups: { groupA: ['hank'] } });
  });
  afterAll(async () => server?.close());

  it('gives read and all of CONTROL, but not broadcast', async () => {
    const member = { user: 'hank', groups: ['groupA'] };
    expect(await allowedOperations(server, member)).toEqual(['read', ...CONTROL].sort());
    expect(await permissionsOf(server, member)).not.toContain('broadcast');
  });

  it('gives user2 read (limit ALL, default from * *)', async () => {
    expect(await allowedOperations(server, { user: 'user2' })).toEqual(['read']);
  });
});

describe('consequences worth a test each', () => {
  it('with no site_authorization nobody but the owner can do anything', async () => {
    const server = await startTestServer({ owner: 'ivan', ua: { '*': ['ALL'] } });
    try {
      expect(await allowedOperations(server, { user: 'bob' })).toEqual([]);
      expect(await upgradeStatus(server, { user: 'bob' })).toBe(403);
      expect(await upgradeStatus(server, { user: 'ivan' })).toBe(101);
    } finally {
      await server.close();
    }
  });

  it('bob in ops: every CONTROL op but play, plus read, under ALL; read alone under READ', async () => {
    const ua = { '*': ['READ'], 'group:ops': ['CONTROL'], bob: ['read', 'pause', '!play'], eve: ['!ALL'] };
    const all = await startTestServer({ owner: 'jane', site: { '*': { '*': { limit: 'ALL' } } }, ua, groups: { ops: ['bob'] } });
    const readOnly = await startTestServer({ owner: 'jane', site: { '*': { '*': { limit: 'READ' } } }, ua, groups: { ops: ['bob'] } });
    try {
      const bob = { user: 'bob', groups: ['ops'] };
      expect(await allowedOperations(all, bob)).toEqual(['read', ...CONTROL.filter((op) => op !== 'play')].sort());
      expect(await allowedOperations(readOnly, bob)).toEqual(['read']);
      expect(await allowedOperations(all, { user: 'eve' })).toEqual([]);
    } finally {
      await all.close();
      await readOnly.close();
    }
  });
});
