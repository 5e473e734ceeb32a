/**
 * Sharing rules that name nobody are saved, with warnings: a key that can never be a user name, a
 * user without an account and a group that does not exist (per what the hub has told the server).
 * Explaining names a user without an account as such, and can explain an unsaved draft.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers.js';

const SITE = { '*': { '*': { default: 'READ', limit: 'ALL' } } };
const alice = { user: 'alice' };
const RULES = { bob: ['READ'], 'b ob': ['READ'], nobody: ['READ'], 'group:ops': ['READ'], 'group:ghosts': ['READ'] };

describe('sharing warnings and draft explanations', () => {
  let server: TestServer;
  const preview = async (body: object, query = '') => (await server.post(alice, `${server.base}api/authorization/preview${query}`).send(body).expect(200)).body;

  beforeAll(async () => {
    server = await startTestServer({ owner: 'alice', site: SITE, ua: { bob: ['READ'] }, groups: { ops: ['bob'] }, flows: { demo: 'tasks:\n  a:\n    script: "true"\n' } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('warns about a key that can never be a name and a group that does not exist; users only once accounts are known', async () => {
    const before = await preview(RULES);
    expect(before.valid).toBe(true);
    expect(before.warnings).toEqual([
      expect.stringMatching(/^"b ob": no user can ever be called "b ob" \(names are 1 to 64/),
      '"group:ghosts": there is no group ghosts now; the rule applies if one is made later',
    ]);
    // The hub sends its account names with the membership.
    await server.put({ user: null }, '/_flotilla/membership').send({ groups: { ops: ['bob'] }, accounts: ['alice', 'bob'] }).expect(200);
    const after = await preview(RULES);
    expect(after.warnings).toHaveLength(3);
    expect(after.warnings).toContain('"nobody": there is no user nobody now; the rule applies if one is made later');
    expect((await preview({ bob: ['READ'], 'group:ops': ['READ'], '*': ['READ'] })).warnings).toEqual([]);
    const section = await preview({ 'x y': ['pause'] }, '?workflow=demo');
    expect(section.warnings).toEqual([expect.stringMatching(/^workflow_authorization › demo › "x y": no user can ever be called/)]);
  });

  it('saves such rules all the same, naming the warnings in a header of the answer', async () => {
    await server.put({ user: null }, '/_flotilla/membership').send({ groups: { ops: ['bob'] }, accounts: ['alice', 'bob'] }).expect(200);
    const saved = await server.put(alice, `${server.base}api/authorization`).send(RULES).expect(200);
    // Saved as written, in the file's normal spelling.
    expect(Object.keys(saved.body).sort()).toEqual(Object.keys(RULES).sort());
    const warnings = JSON.parse(saved.headers['flotilla-warnings'] as string) as string[];
    expect(warnings).toHaveLength(3);
    expect(warnings.join('\n')).toContain('there is no user nobody now');
    const clean = await server.put(alice, `${server.base}api/authorization`).send({ bob: ['READ'] }).expect(200);
    expect(clean.headers['flotilla-warnings']).toBeUndefined();
    const section = await server.put(alice, `${server.base}api/authorization/workflows/demo`).send({ 'x y': ['pause'] }).expect(200);
    expect(JSON.parse(section.headers['flotilla-warnings'] as string)).toEqual([expect.stringMatching(/^workflow_authorization › demo › "x y": no user can ever/)]);
  });

  it('explaining a user without an account says so; a known user gets no such note', async () => {
    await server.put({ user: null }, '/_flotilla/membership').send({ groups: { ops: ['bob'] }, accounts: ['alice', 'bob'] }).expect(200);
    const ghost = await server.get(alice, `${server.base}api/authorization/explain?user=nobody`).expect(200);
    expect(ghost.body.note).toBe('There is no user nobody now: this is what they would get if an account of that name were made.');
    expect(ghost.body.draft).toBe(false);
    const bob = await server.get(alice, `${server.base}api/authorization/explain?user=bob`).expect(200);
    expect(bob.body.note).toBeUndefined();
  });

  it('explains an unsaved draft without saving it, and refuses an invalid one', async () => {
    await server.put(alice, `${server.base}api/authorization`).send({ bob: ['READ'] }).expect(200);
    const draft = await server.post(alice, `${server.base}api/authorization/explain?user=bob`).send({ draft: { bob: ['READ', 'pause'] } }).expect(200);
    expect(draft.body.draft).toBe(true);
    expect(draft.body.explanation.result).toEqual(['pause', 'read']);
    const saved = await server.get(alice, `${server.base}api/authorization/explain?user=bob`).expect(200);
    expect(saved.body.explanation.result).toEqual(['read']);
    expect((await server.get(alice, `${server.base}api/authorization`).expect(200)).body).toEqual({ bob: ['read'] });
    const bad = await server.post(alice, `${server.base}api/authorization/explain?user=bob`).send({ draft: { bob: ['stpo'] } }).expect(400);
    expect(bad.body.error).toContain('the draft is invalid');
    expect(bad.body.error).toContain('"stpo"');
    await server.post(alice, `${server.base}api/authorization/explain?user=bob`).send({ bob: ['READ'] }).expect(400);
    await server.post({ user: 'bob' }, `${server.base}api/authorization/explain?user=bob`).send({ draft: {} }).expect(403);
  });
});
