/**
 * GraphQL over HTTP against a real engine: whole-document refusal, fragments, aliases,
 * operation names, validation, a real play that runs real tasks, job logs and body limits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import request from 'supertest';
import { MAX_TASKS_ASKED } from '../../src/scheduler/engine.js';
import { startTestServer, waitFor, type TestServer } from './helpers.js';

const FLOW = `
description: two tasks in a row
tasks:
  hello:
    script: echo "hello from $FLOTILLA_TASK_NAME"; echo "to stderr" >&2
  world:
    script: echo world
    depends: [hello]
`;

const SITE = { '*': { '*': { limit: 'ALL' } } };
const UA = { bob: ['read', 'play'], carl: ['read', 'hold'], '*': ['READ'] };

describe('GraphQL over HTTP', () => {
  let server: TestServer;
  const owner = { user: 'alice' };
  const bob = { user: 'bob' };

  beforeAll(async () => {
    server = await startTestServer({ owner: 'alice', site: SITE, ua: UA, flows: { demo: FLOW, other: FLOW } });
  });
  afterAll(async () => server?.close());

  const status = async (id: string) => (await server.graphql(owner, `{ workflow(id: "${id}") { status } }`).expect(200)).body.data.workflow.status;

  it('lists workflows for a reader', async () => {
    const res = await server.graphql(bob, '{ workflows { id name status description } me { username owner permissions } }').expect(200);
    expect(res.body.data.workflows.map((w: { id: string }) => w.id).sort()).toEqual(['demo', 'other']);
    expect(res.body.data.workflows[0]).toMatchObject({ status: 'stopped', description: 'two tasks in a row' });
    expect(res.body.data.me).toEqual({ username: 'bob', owner: 'alice', permissions: ['play', 'read'] });
  });

  it('refuses a document with one forbidden mutation whole: nothing runs', async () => {
    const res = await server
      .graphql(bob, 'mutation { play(workflows: ["demo"]) { ok } hold(workflows: ["demo"], tasks: ["hello"]) { ok } }')
      .expect(403);
    expect(res.body).toEqual({ errors: [{ message: expect.stringContaining('hold'), extensions: { code: 'FORBIDDEN', operation: 'hold', workflow: 'demo' } }] });
    expect(await status('demo')).toBe('stopped');
  });

  it('sees through aliases and fragments', async () => {
    const aliased = await server.graphql(bob, 'mutation { harmless: hold(workflows: ["demo"], tasks: ["hello"]) { ok } }').expect(403);
    expect(aliased.body.errors[0].extensions.operation).toBe('hold');
    const viaFragment = await server
      .graphql(bob, 'mutation { play(workflows: ["demo"]) { ok } ...F } fragment F on Mutation { ... on Mutation { h: hold(workflows: ["demo"], tasks: ["x"]) { ok } } }')
      .expect(403);
    expect(viaFragment.body.errors[0].extensions.operation).toBe('hold');
    const skipped = await server
      .graphql(bob, 'mutation { play(workflows: ["demo"]) { ok } hold(workflows: ["demo"], tasks: ["x"]) @skip(if: true) { ok } }')
      .expect(403);
    expect(skipped.body.errors[0].extensions.operation).toBe('hold');
    expect(await status('demo')).toBe('stopped');
  });

  it('judges only the operation selected by operationName', async () => {
    const doc = 'mutation A { hold(workflows: ["nope"], tasks: ["x"]) { ok } } query B { workflows { id } }';
    await server.graphql(bob, doc, undefined, 'A').expect(403);
    const b = await server.graphql(bob, doc, undefined, 'B').expect(200);
    expect(b.body.data.workflows).toHaveLength(2);
    // Which one? Without a name the document is refused, not guessed at.
    const none = await server.graphql(bob, doc);
    expect(none.body.data).toBeUndefined();
    expect(none.body.errors[0].message).toMatch(/operation name/);
  });

  it('fails validation on unknown fields and arguments, before any decision', async () => {
    // graphql-over-HTTP: with Accept application/json a refused document is 200 with errors and
    // no data; with application/graphql-response+json it is 400.
    const unknown = await server.graphql(bob, 'mutation { play(workflows: ["demo"]) { ok } destroyEverything { ok } }');
    expect(unknown.body.data).toBeUndefined();
    expect(unknown.body.errors[0].message).toContain('destroyEverything');
    const badArg = await server.graphql(owner, 'mutation { stop(workflows: ["demo"], force: true) { ok } }').set('Accept', 'application/graphql-response+json');
    expect(badArg.status).toBe(400);
    expect(badArg.body.errors[0].message).toContain('force');
    const syntax = await server.graphql(owner, '{ workflows { id }').set('Accept', 'application/graphql-response+json');
    expect(syntax.status).toBe(400);
    expect(await status('demo')).toBe('stopped');
  });

  it('refuses mutations over GET', async () => {
    const target = `${server.base}graphql?query=${encodeURIComponent('mutation { play(workflows: ["demo"]) { ok } }')}`;
    const res = await server.get(owner, target).set('Accept', 'application/json');
    expect(res.status).toBe(405);
    expect(await status('demo')).toBe('stopped');
  });

  it('answers queries over GET', async () => {
    const target = `${server.base}graphql?query=${encodeURIComponent('{ workflows { id } }')}`;
    const res = await server.get(bob, target).set('Accept', 'application/json').expect(200);
    expect(res.body.data.workflows).toHaveLength(2);
  });

  it('runs a real play: real tasks run to success, logs readable', async () => {
    const res = await server.graphql(bob, 'mutation { play(workflows: ["demo"]) { workflow ok message } }').expect(200);
    expect(res.body.data.play).toEqual([{ workflow: 'demo', ok: true, message: expect.any(String) }]);
    const tasks = await waitFor('both tasks to succeed', async () => {
      const r = await server.graphql(bob, '{ workflow(id: "demo") { tasks { id name state submitNum } } }').expect(200);
      const list: { id: string; state: string }[] = r.body.data.workflow.tasks;
      return list.length === 2 && list.every((t) => t.state === 'succeeded') ? list : undefined;
    });
    const hello = tasks.find((t) => t.id.endsWith('/hello'))!;
    const out = await server
      .graphql(bob, 'query L($t: String!) { jobLog(workflow: "demo", task: $t, file: "job.out") { content submitNum } }', { t: hello.id })
      .expect(200);
    expect(out.body.data.jobLog).toMatchObject({ submitNum: 1, content: expect.stringContaining('hello from') });
    const err = await server
      .graphql(bob, 'query L($t: String!) { jobLog(workflow: "demo", task: $t, file: "job.err", tail: 1) { content } }', { t: hello.id })
      .expect(200);
    expect(err.body.data.jobLog.content).toContain('to stderr');
    const bad = await server.graphql(bob, 'query L($t: String!) { jobLog(workflow: "demo", task: $t, file: "../../etc/passwd") { content } }', { t: hello.id });
    expect(bad.body.errors[0].message).toContain('job.out');
  });

  it('answers Query.tasks with every field of the tasks named, in that order, leaving out ids that name none', async () => {
    await server.graphql(owner, 'mutation { play(workflows: ["demo"]) { ok } }').expect(200);
    await waitFor('demo\'s tasks', async () => (await server.graphql(bob, '{ workflow(id: "demo") { tasks { id } } }').expect(200)).body.data.workflow.tasks.length === 2);
    const res = await server.graphql(bob, '{ tasks(workflow: "demo", ids: ["1/world", "1/nope", "1/hello"]) { id name script env platform } }').expect(200);
    expect(res.body.data.tasks).toEqual([
      { id: '1/world', name: 'world', script: 'echo world', env: expect.any(Object), platform: null },
      { id: '1/hello', name: 'hello', script: expect.stringContaining('hello from'), env: expect.any(Object), platform: null },
    ]);
    const missing = await server.graphql(bob, '{ tasks(workflow: "nope", ids: ["1/hello"]) { id } }').expect(200);
    expect(missing.body.errors[0].message).toContain('no workflow "nope"');
    const twice = await server.graphql(bob, '{ tasks(workflow: "demo", ids: ["1/hello", "1/hello"]) { id } }').expect(200);
    expect(twice.body.data.tasks).toEqual([{ id: '1/hello' }]);
    const ids = Array.from({ length: MAX_TASKS_ASKED + 1 }, (_, i) => `1/t${i}`);
    const many = await server.graphql(bob, 'query ($ids: [ID!]!) { tasks(workflow: "demo", ids: $ids) { id } }', { ids }).expect(200);
    expect(many.body.errors[0].message).toContain(`at most ${MAX_TASKS_ASKED} tasks`);
  });

  it('reads the workflow log: operations with who asked, newest last, limited', async () => {
    await server.graphql(bob, 'mutation { play(workflows: ["other"]) { ok } }').expect(200);
    const res = await server.graphql(bob, '{ workflowLog(workflow: "other", limit: 500) { at level kind by text } }').expect(200);
    const entries: { at: string; level: string; kind: string; by: string | null; text: string }[] = res.body.data.workflowLog;
    expect(entries.find((e) => e.kind === 'operation' && e.text.startsWith('play'))).toMatchObject({ by: 'bob', level: 'INFO' });
    expect(entries.map((e) => e.at)).toEqual([...entries.map((e) => e.at)].sort());
    const two = await server.graphql(bob, '{ workflowLog(workflow: "other", limit: 2) { text } }').expect(200);
    expect(two.body.data.workflowLog).toHaveLength(2);
    const missing = await server.graphql(bob, '{ workflowLog(workflow: "nope") { text } }').expect(200);
    expect(missing.body.errors[0].message).toContain('no workflow "nope"');
  });

  it('shows active broadcasts as Workflow.broadcasts; only someone with broadcast may clear them', async () => {
    const fields = '{ broadcasts { id cyclePoint namespace settings { env script } seq } }';
    const broadcasts = async (who: { user: string }) => (await server.graphql(who, `{ workflow(id: "other") ${fields} }`).expect(200)).body.data.workflow.broadcasts;
    expect(await broadcasts(bob)).toEqual([]);
    const set = await server
      .graphql(owner, 'mutation { a: broadcast(workflows: ["other"], settings: {env: {GREETING: "hi"}}, namespaces: ["hel*"]) { ok } b: broadcast(workflows: ["other"], settings: {script: "echo two"}, cyclePoints: ["2"], namespaces: ["world"]) { ok } }')
      .expect(200);
    expect(set.body.data).toEqual({ a: [{ ok: true }], b: [{ ok: true }] });
    expect(await broadcasts(bob)).toEqual([
      { id: '*/hel*', cyclePoint: '*', namespace: 'hel*', settings: { env: { GREETING: 'hi' }, script: null }, seq: 1 },
      { id: '2/world', cyclePoint: '2', namespace: 'world', settings: { env: {}, script: 'echo two' }, seq: 2 },
    ]);
    const clear = 'mutation { broadcast(workflows: ["other"], mode: "clear", settings: {}, cyclePoints: ["*"], namespaces: ["hel*"]) { ok message } }';
    expect((await server.graphql(bob, clear).expect(403)).body.errors[0].extensions.operation).toBe('broadcast');
    expect((await broadcasts(bob)).map((b: { id: string }) => b.id)).toEqual(['*/hel*', '2/world']);
    expect((await server.graphql(owner, clear).expect(200)).body.data.broadcast[0].ok).toBe(true);
    expect((await broadcasts(bob)).map((b: { id: string }) => b.id)).toEqual(['2/world']);
    await server.graphql(owner, 'mutation { broadcast(workflows: ["other"], mode: "clear", settings: {}) { ok } }').expect(200);
    expect(await broadcasts(bob)).toEqual([]);
  });

  it('describes setGraphWindowExtent as the graph window, not a runahead limit', async () => {
    const res = await server.graphql(bob, '{ __type(name: "Mutation") { fields { name description } } }').expect(200);
    const field = res.body.data.__type.fields.find((f: { name: string }) => f.name === 'setGraphWindowExtent');
    expect(field.description).toMatch(/graph edges around active tasks/);
    expect(field.description).not.toMatch(/runahead|cycle points ahead/i);
  });

  it('reports per workflow whether a mutation was done', async () => {
    const res = await server.graphql(owner, 'mutation { pause(workflows: ["nope"]) { workflow ok message } }').expect(200);
    expect(res.body.data.pause).toEqual([{ workflow: 'nope', ok: false, message: expect.stringMatching(/.+/) }]);
  });

  it('refuses bodies over 1 MB with 413 and a clear message', async () => {
    const huge = `{ workflows { id } } # ${'x'.repeat(1024 * 1024 + 10)}`;
    const res = await request(server.url)
      .post(`${server.base}graphql`)
      .set(server.sign(owner, 'POST', `${server.base}graphql`))
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ query: huge }));
    expect(res.status).toBe(413);
    expect(res.body.error).toMatch(/too large.*1 MB/);
  });
});
