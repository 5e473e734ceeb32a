/**
 * The front door under abuse, against a real server and engine on 127.0.0.1: the GraphQL cost
 * budget (the alias bomb on a 1 MB log), the response-size cap, honest jobLog (truncated, size,
 * a relative path), and the caps on subscriptions per socket and sockets per user.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { getIntrospectionQuery } from '../../src/graphql/graphql-js.js';
import { DEFAULT_SERVER_LIMITS } from '../../src/server/limits.js';
import { connectSocket, GraphqlSocket, openSocket, startTestServer, waitFor, type TestServer, type Who } from './helpers.js';

const MB = 1024 * 1024;
// `yes` lines are 46 bytes; `head -c` makes the sizes exact.
const FLOW = `
tasks:
  mb:
    script: yes "a line of a job log, long enough to add up fast" | head -c ${MB}
  big:
    script: yes "a line of a job log, long enough to add up fast" | head -c ${MB + MB / 2}
  small:
    script: printf 'one\\ntwo\\nthree\\n'
`;
const SITE = { '*': { '*': { limit: 'ALL' } } };
const UA = { '*': ['READ'] };
const owner: Who = { user: 'alice' };
const bob: Who = { user: 'bob' };

const logQuery = (task: string, fields = 'content', args = '') => `jobLog(workflow: "w", task: "1/${task}"${args}) { ${fields} }`;
const aliases = (count: number, field: string) => `{ ${Array.from({ length: count }, (_, i) => `a${i}: ${field}`).join(' ')} }`;

const connect = connectSocket;

/** The first message about subscription `id`, once it has come. */
const firstOf = (socket: GraphqlSocket, id: string) => waitFor(`a message for ${id}`, () => socket.of(id)[0]);

describe('GraphQL cost budget, response cap and jobLog', () => {
  let server: TestServer;
  const sockets: GraphqlSocket[] = [];

  beforeAll(async () => {
    // The default budget; a response cap between one 1 MB log and two.
    server = await startTestServer({ owner: 'alice', site: SITE, ua: UA, flows: { w: FLOW }, limits: { response_bytes: MB + MB / 2 } });
    await server.graphql(owner, 'mutation { play(workflows: ["w"]) { ok } }').expect(200);
    await waitFor('the three log-writing tasks to succeed', async () => {
      const res = await server.graphql(owner, '{ workflow(id: "w") { tasks { state } } }').expect(200);
      const tasks: { state: string }[] = res.body.data.workflow.tasks;
      return tasks.length === 3 && tasks.every((t) => t.state === 'succeeded');
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
    for (const s of sockets.splice(0)) s.ws.terminate();
  });
  afterAll(async () => server?.close());

  it('refuses the alias bomb (300 × jobLog of a 1 MB log) with 400 naming the budget, reading no log', async () => {
    const reads = vi.spyOn(server.running.engine, 'jobLog');
    const bomb = aliases(300, logQuery('mb'));
    expect(bomb.length).toBeLessThan(20_000);
    const res = await server.graphql(bob, bomb).expect(400);
    const budget = DEFAULT_SERVER_LIMITS.query_cost;
    expect(res.body).toEqual({
      errors: [{ message: expect.stringContaining(`exceeds the budget of ${budget}`), extensions: { code: 'COST_LIMIT', cost: expect.any(Number), budget } }],
    });
    expect(res.body.errors[0].extensions.cost).toBeGreaterThan(300 * 1024);
    expect(res.body.errors[0].message).toContain(`cost ${res.body.errors[0].extensions.cost}`);
    expect(reads).not.toHaveBeenCalled();
    // The server is none the worse: the next request is answered.
    const after = await server.graphql(bob, `{ ${logQuery('small', 'content')} }`).expect(200);
    expect(after.body.data.jobLog.content).toBe('one\ntwo\nthree\n');
  });

  it('prices only what runs: @skip, @include and operationName decide the cost', async () => {
    const skippedBomb = `query Q($no: Boolean!) { ${aliases(200, logQuery('small')).slice(2, -2).replace(/\) \{/g, ') @include(if: $no) {')} me { username } }`;
    const res = await server.graphql(bob, skippedBomb, { no: false }).expect(200);
    expect(res.body.data).toEqual({ me: { username: 'bob' } });
    await server.graphql(bob, skippedBomb, { no: true }).expect(400);
    const two = `query Cheap { me { username } } query Dear ${aliases(30, logQuery('small'))}`;
    await server.graphql(bob, two, undefined, 'Cheap').expect(200);
    const dear = await server.graphql(bob, two, undefined, 'Dear').expect(400);
    expect(dear.body.errors[0].extensions.code).toBe('COST_LIMIT');
  });

  it('counts fragments as often as they are used, caps fields and depth before pricing, and lets introspection through', async () => {
    // Each level doubles: 2^11 uses of `me` from a 12-line document.
    const levels = Array.from({ length: 11 }, (_, i) => `fragment F${i} on Query { x${i}: __typename ...F${i + 1} y${i}: __typename ...F${i + 1} }`);
    const doubling = `{ ...F0 } ${levels.join(' ')} fragment F11 on Query { me { username } }`;
    const res = await server.graphql(bob, doubling).expect(400);
    expect(res.body.errors[0]).toMatchObject({
      message: expect.stringContaining(`more than ${DEFAULT_SERVER_LIMITS.query_fields} fields`),
      extensions: { code: 'FIELD_LIMIT', limit: DEFAULT_SERVER_LIMITS.query_fields },
    });
    // Our schema nests six levels at most, so a lower cap shows the depth check.
    const shallow = await startTestServer({ owner: 'alice', site: SITE, ua: UA, limits: { query_depth: 3 } });
    try {
      const deep = await shallow.graphql(bob, '{ workflows { tasks { messages { text } } } }').expect(400);
      expect(deep.body.errors[0]).toMatchObject({ message: expect.stringContaining('deeper than 3 levels'), extensions: { code: 'DEPTH_LIMIT', limit: 3 } });
      await shallow.graphql(bob, '{ workflows { tasks { id } } }').expect(200);
      // Introspection answers from the schema alone and nests ofType deep by design: not depth-capped.
      const schema = await shallow.graphql(bob, getIntrospectionQuery()).expect(200);
      expect(schema.body.data.__schema.queryType).toMatchObject({ name: 'Query' });
    } finally {
      await shallow.close();
    }
  });

  it('reads a big log honestly: the last 1 MB, truncated, its whole size, a path relative to the owner folder', async () => {
    const res = await server.graphql(bob, `{ ${logQuery('big', 'content size truncated path submitNum')} }`).expect(200);
    const log = res.body.data.jobLog;
    expect(log).toMatchObject({ size: MB + MB / 2, truncated: true, path: 'runs/w/log/job/1/big/01/job.out', submitNum: 1 });
    expect(Buffer.byteLength(log.content)).toBe(MB);
    expect(log.path).not.toContain(server.dataDir);

    const tail = (await server.graphql(bob, `{ ${logQuery('mb', 'content size truncated', ', tail: 3')} }`).expect(200)).body.data.jobLog;
    expect(tail).toMatchObject({ size: MB, truncated: true });
    // `head -c` cut the last line short, so there is no newline at the end: three lines, the last partial.
    expect(tail.content.split('\n')).toEqual(['a line of a job log, long enough to add up fast', 'a line of a job log, long enough to add up fast', expect.any(String)]);
    const whole = (await server.graphql(bob, `{ ${logQuery('small', 'content size truncated')} }`).expect(200)).body.data.jobLog;
    expect(whole).toEqual({ content: 'one\ntwo\nthree\n', size: 14, truncated: false });
  });

  it('refuses a response over response_bytes whole, with 400, reading no log past the cap', async () => {
    const reads = vi.spyOn(server.running.engine, 'jobLog');
    const res = await server.graphql(bob, aliases(3, logQuery('mb'))).expect(400);
    expect(res.body).toEqual({
      errors: [{ message: expect.stringContaining(`larger than ${MB + MB / 2} bytes`), extensions: { code: 'RESPONSE_LIMIT', limit: MB + MB / 2 } }],
    });
    // The second read went over; the third was never made.
    expect(reads).toHaveBeenCalledTimes(2);
    await server.graphql(bob, aliases(1, logQuery('mb', 'truncated'))).expect(200);
  });

  it('applies the budget and the response cap to each subscribe on a socket, which carries on', async () => {
    const socket = await connect(server, bob, sockets);
    socket.subscribe('bomb', aliases(300, logQuery('mb')));
    const refused = await firstOf(socket, 'bomb');
    expect(refused).toMatchObject({ type: 'error', payload: [{ extensions: { code: 'COST_LIMIT', budget: DEFAULT_SERVER_LIMITS.query_cost } }] });
    socket.subscribe('large', aliases(2, logQuery('mb')));
    const large = await firstOf(socket, 'large');
    expect(large).toMatchObject({ type: 'next', payload: { errors: [{ extensions: { code: 'RESPONSE_LIMIT' } }] } });
    expect(large.payload.data).toBeUndefined();
    socket.subscribe('fine', `{ ${logQuery('small')} }`);
    const fine = await firstOf(socket, 'fine');
    expect(fine.payload.data.jobLog.content).toBe('one\ntwo\nthree\n');
    expect(socket.closed).toBeUndefined();
  });
});

describe('caps on sockets and subscriptions', () => {
  let server: TestServer;
  const sockets: GraphqlSocket[] = [];
  const PERMISSIONS = 'subscription { permissions { permissions } }';

  beforeAll(async () => {
    server = await startTestServer({ owner: 'alice', site: SITE, ua: UA, limits: { subscriptions_per_socket: 3, sockets_per_user: 2 } });
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.ws.terminate();
  });
  afterAll(async () => server?.close());

  it('refuses a subscribe past subscriptions_per_socket with an error for it alone; completing one makes room', async () => {
    const socket = await connect(server, bob, sockets);
    for (const id of ['1', '2', '3']) socket.subscribe(id, PERMISSIONS);
    for (const id of ['1', '2', '3']) expect((await firstOf(socket, id)).type).toBe('next');
    socket.subscribe('4', PERMISSIONS);
    expect(await firstOf(socket, '4')).toEqual({
      id: '4',
      type: 'error',
      payload: [{ message: expect.stringContaining('at most 3'), extensions: { code: 'SUBSCRIPTION_LIMIT', limit: 3 } }],
    });
    socket.send({ id: '1', type: 'complete' });
    // The complete is handled in order before the next subscribe on the same socket.
    socket.subscribe('5', PERMISSIONS);
    expect((await firstOf(socket, '5')).type).toBe('next');
    expect(socket.closed).toBeUndefined();
  });

  it('refuses a socket past sockets_per_user with 429; other users and the open sockets carry on', async () => {
    const first = await connect(server, bob, sockets);
    const second = await connect(server, bob, sockets);
    expect(await openSocket(server, bob)).toEqual({ ok: false, status: 429 });
    const carl = await connect(server, { user: 'carl' }, sockets);
    for (const socket of [first, second, carl]) {
      socket.subscribe('p', PERMISSIONS);
      expect(await firstOf(socket, 'p')).toMatchObject({ type: 'next', payload: { data: { permissions: { permissions: ['read'] } } } });
    }
    second.ws.close();
    // Once the server has seen the close, bob may open another.
    const again = await waitFor('room for another socket of bob', async () => {
      const outcome = await openSocket(server, bob);
      return outcome.ok ? outcome.ws : undefined;
    });
    sockets.push(new GraphqlSocket(again));
    await waitFor('three sockets open on the server: first, carl, again', () => server.running.subscriptions.size === 3);
  });
});
