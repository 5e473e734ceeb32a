/**
 * A delta that many subscribers receive is executed and serialised once per document
 * (src/server/subscription-frames.ts). These tests prove the sharing happens and that it never
 * carries a workflow to a subscriber who may not read it, before or after a change of sharing.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
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
  added?: { workflow?: { status: string } };
  updated?: { workflow?: { status?: string } };
  pruned?: { workflow?: boolean };
}

describe('deltas shared between subscribers', () => {
  let server: TestServer;
  const sockets: GraphqlSocket[] = [];
  const owner: Who = { user: 'alice', xsrf: 'x' };
  const sections = () => `${server.base}api/authorization/workflows`;

  beforeAll(async () => {
    server = await startTestServer({ owner: 'alice', site: SITE, ua: UA, wa: WA, flows: { open: CHAIN, secret: CHAIN, slow: SLOW_CHAIN } });
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
});
