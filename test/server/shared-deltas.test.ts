/**
 * A delta that many subscribers receive is executed and serialised once per document
 * (src/server/subscription-frames.ts). These tests prove the sharing happens and that it never
 * carries a workflow to a subscriber who may not read it, before or after a change of sharing.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  execute, getNamedType, GraphQLObjectType, GraphQLScalarType, parse, type GraphQLNamedType,
} from '../../src/graphql/graphql-js.js';
import { buildWorkflowSchema } from '../../src/graphql/schema.js';
import { NO_VIEWER } from '../../src/server/subscription-frames.js';
import { connectSocket, GraphqlSocket, startTestServer, waitFor, type TestServer, type Who } from './helpers.js';

const CHAIN = `
tasks:
  a: { script: "true" }
  b: { script: "true", depends: [a] }
  c: { script: "true", depends: [b] }
`;
const SLOW_CHAIN = `
tasks:
${Array.from({ length: 8 }, (_, i) => `  s${i}: { script: "sleep 0.2"${i ? `, depends: [s${i - 1}]` : ''} }`).join('\n')}
`;
const SITE = { '*': { '*': { limit: ['READ', 'CONTROL'] } } };
const UA = { bob: ['READ'], carl: ['READ'], dana: ['READ'], erin: ['READ'] };
const WA = { secret: { bob: ['!READ'] } };
// One document for everyone, so that everyone's results are shared.
const DELTAS = 'subscription { deltas { workflow added { workflow { id status } tasks { id state } } updated { workflow tasks } pruned { workflow tasks } } }';

interface DeltaMessage {
  workflow: string;
  added?: { workflow?: { status: string }; tasks?: { id: string; state: string }[] };
  updated?: { workflow?: { status?: string }; tasks?: { id: string; state?: string }[] };
  pruned?: { workflow?: boolean };
}

describe('the result shared between subscribers', () => {
  const schema = buildWorkflowSchema();

  /** Every object type a Delta's result is made of, with a selection of all their fields. */
  const walk = (type: GraphQLNamedType, seen: Map<string, GraphQLObjectType>): string => {
    if (type instanceof GraphQLScalarType) return '';
    if (!(type instanceof GraphQLObjectType)) throw new Error(`${type.name}: a Delta holds only objects and scalars`);
    seen.set(type.name, type);
    const fields = Object.values(type.getFields()).map((f) => `${f.name} ${walk(getNamedType(f.type), seen)}`);
    return `{ ${fields.join(' ')} }`;
  };

  it('needs no identity: no field of a Delta resolves with the context, and a whole one executes under NO_VIEWER', () => {
    const deltas = schema.getSubscriptionType()!.getFields().deltas!;
    const types = new Map<string, GraphQLObjectType>();
    const selection = walk(getNamedType(deltas.type), types);
    expect([...types.keys()]).toEqual(expect.arrayContaining(['Delta', 'DeltaAdded', 'Workflow', 'Task', 'DeltaUpdated', 'DeltaPruned']));
    for (const type of types.values()) {
      for (const field of Object.values(type.getFields())) {
        // A resolver of its own could read the context; one that does must not be on this path.
        if (!field.resolve) continue;
        expect(field.resolve.length, `${type.name}.${field.name} takes the context`).toBeLessThan(3);
      }
    }
    expect(Object.isFrozen(NO_VIEWER)).toBe(true);
    expect(Object.keys(NO_VIEWER)).toEqual([]);

    const task = {
      id: '1/a', cycle: 1, name: 'a', state: 'running', held: false, queued: false, submitNum: 1, outputs: ['started'],
      messages: [{ at: 'now', severity: 'INFO', text: 'started', by: 'job' }], env: {}, script: 'true',
    };
    const workflow = {
      id: 'w', name: 'w', description: '', status: 'running', cycles: 1, runaheadLimit: 3, verbosity: 'INFO', graphWindowExtent: 1,
      lastActivity: 'now', stateCounts: { waiting: 1, preparing: 0, submitted: 0, running: 1, succeeded: 0, failed: 0, expired: 0, 'submit-failed': 0 }, edges: [{ from: '1/a', to: '1/b' }], broadcasts: [],
    };
    const delta = {
      workflow: 'w',
      added: { workflow, tasks: [task] },
      updated: { workflow: { status: 'running' }, tasks: [{ id: '1/a', state: 'succeeded' }] },
      pruned: { workflow: false, tasks: ['1/b'] },
    };
    const result = execute({ schema, document: parse(`subscription { deltas ${selection} }`), rootValue: { deltas: delta }, contextValue: NO_VIEWER });
    expect(result).not.toHaveProperty('errors');
    expect(result).toMatchObject({ data: { deltas: { workflow: 'w', added: { tasks: [{ id: '1/a', state: 'running' }] }, pruned: { tasks: ['1/b'] } } } });
  });
});

describe('deltas shared between subscribers', () => {
  let server: TestServer;
  const sockets: GraphqlSocket[] = [];
  const owner: Who = { user: 'alice', xsrf: 'x' };
  const sections = () => `${server.base}api/authorization/workflows`;

  beforeAll(async () => {
    server = await startTestServer({ owner: 'alice', site: SITE, ua: UA, wa: WA, flows: { open: CHAIN, secret: CHAIN, slow: SLOW_CHAIN, paced: SLOW_CHAIN } });
  });
  afterEach(() => {
    for (const s of sockets.splice(0)) s.ws.terminate();
  });
  afterAll(async () => server?.close());

  const subscribed = async (user: string): Promise<GraphqlSocket> => {
    const socket = await connectSocket(server, { user }, sockets);
    socket.subscribe('d', DELTAS);
    return socket;
  };
  const deltasOf = (socket: GraphqlSocket): DeltaMessage[] =>
    socket.of('d').filter((m) => m.type === 'next').map((m) => m.payload.data.deltas as DeltaMessage);
  /** Whether the socket has seen the workflow run and then stop. */
  const stopped = (socket: GraphqlSocket, workflow: string): boolean => {
    const statuses = deltasOf(socket).filter((d) => d.workflow === workflow).map((d) => d.updated?.workflow?.status ?? d.added?.workflow?.status);
    return statuses.lastIndexOf('stopped') > statuses.indexOf('running') && statuses.includes('running');
  };
  const play = async (workflow: string) => {
    const res = await server.graphql(owner, `mutation { play(workflows: ["${workflow}"]) { ok message } }`).expect(200);
    expect(res.body.data.play[0].ok).toBe(true);
  };

  it('serialises a delta once for everyone who gets it, and never sends it to someone who may not read its workflow', async () => {
    const carl = await subscribed('carl');
    const dana = await subscribed('dana');
    const bob = await subscribed('bob');
    await waitFor('the first bursts', () => deltasOf(carl).length >= 3 && deltasOf(dana).length >= 3 && deltasOf(bob).length >= 2);
    const serialisedBefore = server.running.subscriptions.serialised;
    const deliveredBefore = [carl, dana, bob].reduce((n, s) => n + deltasOf(s).length, 0);

    await play('secret');
    await play('open');
    await waitFor('both runs seen', () => stopped(carl, 'secret') && stopped(dana, 'secret') && stopped(carl, 'open') && stopped(bob, 'open'));

    // bob may not read secret: not one message about it, not even its name.
    expect(deltasOf(bob).map((d) => d.workflow)).not.toContain('secret');
    expect(JSON.stringify(bob.messages)).not.toContain('secret');
    expect(deltasOf(carl).map((d) => d.workflow)).toContain('secret');
    // Those who may read it got the same deltas.
    const ofSecret = (socket: GraphqlSocket) => deltasOf(socket).filter((d) => d.workflow === 'secret');
    expect(ofSecret(dana)).toEqual(ofSecret(carl));
    // Shared: far fewer results serialised than messages delivered.
    const delivered = [carl, dana, bob].reduce((n, s) => n + deltasOf(s).length, 0) - deliveredBefore;
    const serialised = server.running.subscriptions.serialised - serialisedBefore;
    expect(serialised).toBeGreaterThan(0);
    expect(serialised).toBeLessThan(delivered);
  });

  it('stops a workflow at once for a subscriber who loses read on it while others keep getting the same deltas', async () => {
    const carl = await subscribed('carl');
    const erin = await subscribed('erin');
    await waitFor('the first bursts', () => deltasOf(carl).some((d) => d.workflow === 'slow') && deltasOf(erin).some((d) => d.workflow === 'slow'));
    await play('slow');
    await waitFor('erin to see slow running', () => deltasOf(erin).some((d) => d.workflow === 'slow' && d.updated));

    await server.put(owner, `${sections()}/slow`).send({ erin: ['!READ'] }).expect(200);
    await waitFor('slow pruned for erin', () => deltasOf(erin).some((d) => d.workflow === 'slow' && d.pruned?.workflow));
    const prunedAt = deltasOf(erin).findIndex((d) => d.workflow === 'slow' && d.pruned?.workflow);
    const carlAtPrune = deltasOf(carl).filter((d) => d.workflow === 'slow').length;
    await waitFor('carl to see the run end', () => stopped(carl, 'slow'));

    expect(deltasOf(carl).filter((d) => d.workflow === 'slow').length).toBeGreaterThan(carlAtPrune);
    expect(deltasOf(erin).slice(prunedAt + 1).map((d) => d.workflow)).not.toContain('slow');
    expect(erin.closed).toBeUndefined();
  });

  it('gives a subscriber whose client stops reading one merged delta later, not a queue of stale ones', async () => {
    const reader = await subscribed('carl');
    const paused = await subscribed('dana');
    const ofPaced = (socket: GraphqlSocket) => deltasOf(socket).filter((d) => d.workflow === 'paced');
    await waitFor('the first bursts', () => [reader, paused].every((s) => ['open', 'secret', 'slow', 'paced'].every((w) => deltasOf(s).some((d) => d.workflow === w))));
    const before = { reader: ofPaced(reader).length, paused: ofPaced(paused).length };
    paused.ws.pause();
    await play('paced');
    await waitFor('carl to see the run end', () => stopped(reader, 'paced'));
    paused.ws.resume();
    await waitFor('dana to see the run end', () => stopped(paused, 'paced'));

    // Every task's start and end reached carl one by one; dana, who read nothing meanwhile, got
    // the message already written and then everything after it merged into one (a third only if
    // something changed once she read again).
    expect(ofPaced(reader).length - before.reader).toBeGreaterThan(8);
    expect(ofPaced(paused).length - before.paused).toBeLessThanOrEqual(3);
    const { body } = await server.graphql(owner, '{ workflow(id: "paced") { status tasks { id state } } }').expect(200);
    const engine = body.data.workflow as { status: string; tasks: { id: string; state: string }[] };
    expect(engine.tasks.map((t) => t.state)).toEqual(Array(8).fill('succeeded'));
    for (const socket of [reader, paused]) {
      const states = new Map<string, string>();
      let status = '';
      for (const d of ofPaced(socket)) {
        status = d.updated?.workflow?.status ?? d.added?.workflow?.status ?? status;
        for (const t of [...(d.added?.tasks ?? []), ...(d.updated?.tasks ?? [])]) if (t.state) states.set(t.id, t.state);
      }
      expect(status).toBe(engine.status);
      expect(Object.fromEntries(states)).toEqual(Object.fromEntries(engine.tasks.map((t) => [t.id, t.state])));
    }
  });
});
