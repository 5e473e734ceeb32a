/**
 * AUTHORIZATION.md "Sharing one workflow", through the real server: lists, queries, logs and
 * deltas per workflow; unreadable workflows answered as non-existent; multi-workflow mutations
 * refused whole; the handshake; live pruning and 4403; me, userprofile and the permissions
 * subscription; the owner's endpoints for workflow sections.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectSocket, GraphqlSocket, openSocket, startTestServer, waitFor, type TestServer, type Who } from './helpers.js';

const FLOW = `
tasks:
  one:
    script: echo one
`;
// No site default: someone the owner does not mention gets nothing.
const SITE = { '*': { '*': { limit: ['READ', 'CONTROL'] } } };
const UA = { 'group:staff': ['READ'] };
const WA = {
  'genome-run': { 'group:lab': ['READ', 'CONTROL'] },
  payroll: { '*': ['!READ'] },
  // noor reads nothing server-wide, but this one workflow.
  shared: { noor: ['READ', 'hold'] },
};

describe('sharing one workflow', () => {
  let server: TestServer;
  const sockets: GraphqlSocket[] = [];
  const owner: Who = { user: 'alice', xsrf: 'x' };
  const lena: Who = { user: 'lena' };
  const bob: Who = { user: 'bob' };
  const noor: Who = { user: 'noor' };
  const sections = () => `${server.base}api/authorization/workflows`;

  beforeAll(async () => {
    server = await startTestServer({
      owner: 'alice',
      site: SITE,
      ua: UA,
      wa: WA,
      groups: { lab: ['lena'], staff: ['bob', 'lena'] },
      flows: { 'genome-run': FLOW, payroll: FLOW, other: FLOW, shared: FLOW },
    });
  });
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.ws.terminate();
    // Back to the starting sharing: the file as it was, whatever a test left.
    writeFileSync(server.ownerFile, JSON.stringify({ WorkflowServer: { user_authorization: UA, workflow_authorization: WA } }));
    const onDisk = (await server.get(owner, sections()).expect(200)).body;
    await waitFor('the starting sharing to be applied', () => JSON.stringify(server.running.access.currentSharing.workflow_authorization?.toJSON()) === JSON.stringify(onDisk));
  });
  afterAll(async () => server?.close());

  const ids = async (who: Who): Promise<string[]> =>
    (await server.graphql(who, '{ workflows { id } }').expect(200)).body.data.workflows.map((w: { id: string }) => w.id);

  const connect = (who: Who) => connectSocket(server, who, sockets);

  const deltasOf = (socket: GraphqlSocket, id: string) =>
    socket.of(id).filter((m) => m.type === 'next').map((m) => m.payload.data.deltas as { workflow: string; added: unknown; pruned: { workflow: boolean } | null });

  describe('reading', () => {
    it('lists only readable workflows: payroll is hidden from every access user, the owner still sees it', async () => {
      expect(await ids(owner)).toEqual(['genome-run', 'other', 'payroll', 'shared']);
      expect(await ids(bob)).toEqual(['genome-run', 'other', 'shared']);
      expect(await ids(lena)).toEqual(['genome-run', 'other', 'shared']);
      expect(await ids(noor)).toEqual(['shared']);
    });

    it('answers a query naming an unreadable workflow exactly as for one that does not exist', async () => {
      const ask = async (workflow: string) =>
        (await server.graphql(bob, 'query ($w: ID!) { workflow(id: $w) { id } }', { w: workflow }).expect(200)).body;
      expect(await ask('payroll')).toEqual(await ask('ghost'));
      expect((await ask('payroll')).data.workflow).toBeNull();
      expect((await ask('other')).data.workflow).toEqual({ id: 'other' });

      const logs = async (workflow: string) => {
        const res = await server.graphql(bob, 'query ($w: ID!) { workflowLog(workflow: $w) { text } }', { w: workflow }).expect(200);
        return JSON.stringify(res.body).replaceAll(workflow, 'W');
      };
      expect(await logs('payroll')).toEqual(await logs('ghost'));
      expect(await logs('payroll')).toContain('no workflow');
      const jobLog = async (workflow: string) => {
        const res = await server.graphql(bob, 'query ($w: ID!) { jobLog(workflow: $w, task: "1/one") { content } }', { w: workflow }).expect(200);
        return JSON.stringify(res.body).replaceAll(workflow, 'W');
      };
      expect(await jobLog('payroll')).toEqual(await jobLog('ghost'));
      const tasks = async (workflow: string) => {
        const res = await server.graphql(bob, 'query ($w: ID!) { tasks(workflow: $w, ids: ["1/one"]) { id script } }', { w: workflow }).expect(200);
        return JSON.stringify(res.body).replaceAll(workflow, 'W');
      };
      expect(await tasks('payroll')).toEqual(await tasks('ghost'));
      expect(await tasks('payroll')).toContain('no workflow');
      // The owner reads payroll's log.
      const mine = await server.graphql(owner, '{ workflowLog(workflow: "payroll") { text } }').expect(200);
      expect(mine.body.errors).toBeUndefined();
    });

    it('opens the server (pages, me, userprofile, a socket) to someone who may read a single workflow', async () => {
      await server.get(noor, server.base).expect(200);
      const me = await server.graphql(noor, '{ me { permissions workflowPermissions { workflow permissions } } }').expect(200);
      expect(me.body.data.me).toEqual({ permissions: [], workflowPermissions: [{ workflow: 'shared', permissions: ['hold', 'read'] }] });
      const profile = await server.get(noor, `${server.base}api/userprofile`).expect(200);
      expect(profile.body.workflowPermissions).toEqual([{ workflow: 'shared', permissions: ['hold', 'read'] }]);
      expect((await openSocket(server, noor)).ok).toBe(true);
      // Someone with read nowhere gets no socket, no page and no query.
      await server.put(owner, `${sections()}/shared`).send({ noor: ['!ALL'] }).expect(200);
      expect(await openSocket(server, noor)).toEqual({ ok: false, status: 403 });
      await server.get(noor, server.base).expect(403);
      await server.graphql(noor, '{ workflows { id } }').expect(403);
      await server.graphql(noor, '{ me { permissions } }').expect(403);
      await server.get(noor, `${server.base}api/userprofile`).expect(403);
    });

    it('gives me and userprofile the server-wide permissions and only the readable workflows that differ', async () => {
      const me = await server.graphql(lena, '{ me { permissions workflowPermissions { workflow permissions } } }').expect(200);
      expect(me.body.data.me.permissions).toEqual(['read']);
      expect(me.body.data.me.workflowPermissions).toHaveLength(1);
      expect(me.body.data.me.workflowPermissions[0].workflow).toBe('genome-run');
      expect(me.body.data.me.workflowPermissions[0].permissions).toContain('trigger');
      // payroll differs too (no read), but naming it would disclose it: it is left out.
      const bobs = await server.get(bob, `${server.base}api/userprofile`).expect(200);
      expect(bobs.body).toMatchObject({ permissions: ['read'], workflowPermissions: [] });
    });

    it("renders a workflow page with that workflow's permissions", async () => {
      const page = await server.get(lena, `${server.base}workflows/genome-run`).expect(200);
      const data = JSON.parse(/<script id="page-data"[^>]*>(.*?)<\/script>/s.exec(page.text)![1]!);
      expect(data.permissions).toContain('trigger');
      const other = await server.get(lena, `${server.base}workflows/other`).expect(200);
      expect(JSON.parse(/<script id="page-data"[^>]*>(.*?)<\/script>/s.exec(other.text)![1]!).permissions).toEqual(['read']);
    });
  });

  describe('acting', () => {
    const status = async (workflow: string): Promise<string> =>
      (await server.graphql(owner, 'query ($w: ID!) { workflow(id: $w) { status } }', { w: workflow }).expect(200)).body.data.workflow.status;
    afterEach(async () => {
      for (const w of ['genome-run', 'other']) {
        await server.graphql(owner, 'mutation ($w: [ID!]!) { stop(workflows: $w, mode: "kill") { ok } }', { w: [w] }).expect(200);
        await waitFor(`${w} to stop`, async () => (await status(w)) === 'stopped');
      }
    });

    it('lets a lab member control genome-run and refuses it elsewhere, naming the workflow', async () => {
      const ok = await server.graphql(lena, 'mutation { play(workflows: ["genome-run"]) { ok } }').expect(200);
      expect(ok.body.data.play[0].ok).toBe(true);
      const refused = await server.graphql(lena, 'mutation { hold(workflows: ["other"], tasks: ["one"]) { ok } }').expect(403);
      expect(refused.body.errors[0].extensions).toEqual({ code: 'FORBIDDEN', operation: 'hold', workflow: 'other' });
    });

    it('refuses a request acting on several workflows whole when one is not permitted: nothing runs', async () => {
      const res = await server.graphql(lena, 'mutation { play(workflows: ["genome-run", "other"]) { ok } }').expect(403);
      expect(res.body.errors[0].extensions).toMatchObject({ operation: 'play', workflow: 'other' });
      // Split across two fields (with a variable) it is the same.
      const split = await server
        .graphql(lena, 'mutation ($w: [ID!]!) { a: play(workflows: ["genome-run"]) { ok } b: play(workflows: $w) { ok } }', { w: ['other'] })
        .expect(403);
      expect(split.body.errors[0].extensions).toMatchObject({ operation: 'play', workflow: 'other' });
      expect(await status('genome-run')).toBe('stopped');
      expect(await status('other')).toBe('stopped');
    });

    it('answers an action on a workflow the user may not read as if it did not exist, and runs nothing', async () => {
      // Under "*": ["!READ"] on payroll, CONTROL from the site default would still allow play there.
      await server.put(owner, `${server.base}api/authorization`).send({ ...UA, lena: ['READ', 'CONTROL'] }).expect(200);
      const res = await server.graphql(lena, 'mutation { play(workflows: ["other", "payroll"]) { ok } }').expect(404);
      expect(res.body.errors[0]).toEqual({ message: 'no workflow "payroll"', extensions: { code: 'NOT_FOUND', workflow: 'payroll' } });
      expect(await status('other')).toBe('stopped');
      expect(await status('payroll')).toBe('stopped');
    });
  });

  describe('live', () => {
    it('sends a pruned delta when read on one workflow is lost, and the added burst when it comes back', async () => {
      const socket = await connect(bob);
      socket.subscribe('d', 'subscription { deltas { workflow added { workflow { id } } pruned { workflow } } }');
      await waitFor('the first burst', () => new Set(deltasOf(socket, 'd').map((d) => d.workflow)).size === 3);
      expect(deltasOf(socket, 'd').map((d) => d.workflow).sort()).toEqual(['genome-run', 'other', 'shared']);

      await server.put(owner, `${sections()}/other`).send({ bob: ['!READ'] }).expect(200);
      await waitFor('other pruned', () => deltasOf(socket, 'd').some((d) => d.workflow === 'other' && d.pruned?.workflow));
      expect(socket.closed).toBeUndefined();
      expect(await ids(bob)).toEqual(['genome-run', 'shared']);

      const before = deltasOf(socket, 'd').length;
      await server.put(owner, `${sections()}/payroll`).send({ bob: ['READ'] }).expect(200);
      await waitFor('payroll added', () => deltasOf(socket, 'd').slice(before).some((d) => d.workflow === 'payroll' && d.added));
      // Other still hidden: nothing about it after the prune.
      const afterPrune = deltasOf(socket, 'd').slice(deltasOf(socket, 'd').findIndex((d) => d.pruned?.workflow) + 1);
      expect(afterPrune.some((d) => d.workflow === 'other')).toBe(false);
    });

    it('closes the socket with 4403 when read is lost everywhere', async () => {
      const socket = await connect(noor);
      socket.subscribe('d', 'subscription { deltas { workflow } }');
      await waitFor('a delta of shared', () => deltasOf(socket, 'd').length > 0);
      await server.put(owner, `${sections()}/shared`).send({ noor: ['hold'] }).expect(200);
      await waitFor('noor to be disconnected', () => socket.closed, 5_000);
      expect(socket.closed!.code).toBe(4403);
    });

    it('pushes the per-workflow differences over the permissions subscription', async () => {
      const socket = await connect(bob);
      socket.subscribe('p', 'subscription { permissions { permissions workflowPermissions { workflow permissions } } }');
      const nexts = () => socket.of('p').filter((m) => m.type === 'next').map((m) => m.payload.data.permissions);
      await waitFor('the current permissions', () => nexts().length === 1);
      expect(nexts()[0]).toEqual({ permissions: ['read'], workflowPermissions: [] });
      await server.put(owner, `${sections()}/other`).send({ bob: ['READ', 'pause'] }).expect(200);
      await waitFor('the new permissions', () => nexts().length === 2);
      expect(nexts()[1]).toEqual({ permissions: ['read'], workflowPermissions: [{ workflow: 'other', permissions: ['pause', 'read'] }] });
    });
  });

  describe("the owner's workflow sections", () => {
    it('reads, replaces and removes a section, saved in the owner file beside user_authorization', async () => {
      expect((await server.get(owner, sections()).expect(200)).body).toMatchObject({ payroll: { '*': ['!read'] } });
      await server.put(owner, `${sections()}/not-yet`).send({ bob: ['ALL'] }).expect(200);
      const file = JSON.parse(readFileSync(server.ownerFile, 'utf8')).WorkflowServer;
      expect(file.workflow_authorization['not-yet']).toEqual({ bob: ['ALL'] });
      expect(file.user_authorization).toEqual({ 'group:staff': ['read'] });
      await server.delete(owner, `${sections()}/not-yet`).expect(200);
      expect(JSON.parse(readFileSync(server.ownerFile, 'utf8')).WorkflowServer.workflow_authorization['not-yet']).toBeUndefined();
      expect((await server.get(owner, sections()).expect(200)).body['not-yet']).toBeUndefined();
    });

    it('refuses bad names and bad permissions with the file, key path and a did-you-mean, changing nothing', async () => {
      const before = readFileSync(server.ownerFile);
      const glob = await server.put(owner, `${sections()}/genome-*`).send({ bob: ['READ'] }).expect(400);
      expect(glob.body.error).toMatch(/not a workflow name/);
      const typo = await server.put(owner, `${sections()}/genome-run`).send({ bob: ['stpo'] }).expect(400);
      expect(typo.body.error).toContain('WorkflowServer › workflow_authorization › genome-run › bob: unknown permission "stpo"; did you mean "stop"?');
      expect(typo.body.error).toContain(server.ownerFile);
      expect(readFileSync(server.ownerFile).equals(before)).toBe(true);
    });

    it('refuses a section over a broken owner file (409) until the server-wide sharing replaces the file', async () => {
      writeFileSync(server.ownerFile, '{ "WorkflowServer": { "user_authorization": { "bob": ["stpo"] } } }');
      await waitFor('the broken file to be noticed', async () => (await server.get(owner, sections())).status === 409);
      const refused = await server.put(owner, `${sections()}/other`).send({ bob: ['READ'] }).expect(409);
      expect(refused.body.error).toContain('save the server-wide sharing first');
      expect(readFileSync(server.ownerFile, 'utf8')).toContain('stpo');
      await server.put(owner, `${server.base}api/authorization`).send(UA).expect(200);
      await server.put(owner, `${sections()}/other`).send({ bob: ['READ'] }).expect(200);
      expect(JSON.parse(readFileSync(server.ownerFile, 'utf8')).WorkflowServer).toEqual({
        user_authorization: { 'group:staff': ['read'] },
        workflow_authorization: { other: { bob: ['read'] } },
      });
    });

    it('keeps the section endpoints to the owner', async () => {
      await server.get(bob, sections()).expect(403);
      await server.put(bob, `${sections()}/other`).send({ bob: ['ALL'] }).expect(403);
    });

    it('previews a draft section after the site limits, and says when the workflow does not exist yet', async () => {
      const res = await server.post(owner, `${server.base}api/authorization/preview?workflow=future`).send({ bob: ['ALL'] }).expect(200);
      expect(res.body).toMatchObject({ valid: true, workflow: 'future', workflowExists: false });
      const bobEntry = res.body.entries.find((e: { key: string }) => e.key === 'bob');
      expect(bobEntry.permitted).toContain('trigger');
      // The site limit is READ+CONTROL: ALL does not reach broadcast.
      expect(bobEntry.permitted).not.toContain('broadcast');
      const existing = await server.post(owner, `${server.base}api/authorization/preview?workflow=other`).send({ bob: ['READ'] }).expect(200);
      expect(existing.body.workflowExists).toBe(true);
    });

    it('explains a decision on one workflow, naming the section of each grant', async () => {
      const res = await server.get(owner, `${server.base}api/authorization/explain?user=lena&workflow=genome-run`).expect(200);
      expect(res.body.explanation.workflow).toBe('genome-run');
      expect(res.body.explanation.grants.fromKeys).toContainEqual({ key: 'group:lab', section: 'workflow_authorization.genome-run', terms: ['read', 'CONTROL'] });
      expect(res.body.text).toContain('workflow_authorization.genome-run › group:lab');
      await server.get(owner, `${server.base}api/authorization/explain?user=lena&workflow=..`).expect(400);
    });
  });

  describe('one source of groups', () => {
    it("decides with the hub's pushed membership, never with the groups a proof carries", async () => {
      const claimsLab = await server.graphql({ user: 'bob', groups: ['lab'] }, 'mutation { play(workflows: ["genome-run"]) { ok } }').expect(403);
      expect(claimsLab.body.errors[0].extensions).toMatchObject({ operation: 'play', workflow: 'genome-run' });
      const profile = await server.get({ user: 'lena', groups: [] }, `${server.base}api/userprofile`).expect(200);
      expect(profile.body.groups).toEqual(['lab', 'staff']);
      expect(profile.body.workflowPermissions.map((w: { workflow: string }) => w.workflow)).toEqual(['genome-run']);
    });

    it('gives access users nothing until the hub has sent any membership', async () => {
      const early = await startTestServer({ owner: 'alice', site: SITE, ua: { '*': ['READ'] }, groups: null });
      try {
        await early.graphql({ user: 'bob' }, '{ workflows { id } }').expect(403);
        await early.graphql({ user: 'alice' }, '{ workflows { id } }').expect(200);
        await early.pushGroups({});
        await early.graphql({ user: 'bob' }, '{ workflows { id } }').expect(200);
      } finally {
        await early.close();
      }
    });
  });
});
