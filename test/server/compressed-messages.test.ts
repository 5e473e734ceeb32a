/**
 * Messages deflated once for every subscriber (src/server/compressed-messages.ts): what goes on the
 * wire is a valid permessage-deflate message that real `ws` clients read back exactly, in order
 * with the messages `ws` sends itself, and only to clients that agreed to the extension.
 */
import { randomBytes } from 'node:crypto';
import { constants, createInflateRaw, inflateRawSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { deflatedBody, deflateWindow, storedBlocks, writeCompressed } from '../../src/server/compressed-messages.js';
import { connectSocket, GraphqlSocket, startTestServer, waitFor, type TestServer } from './helpers.js';
import { startWsPairs, tcpSocket, wireBytes, type WsPairs } from './ws-pair.js';

const ALICE = { user: 'alice' };

/** What a receiver does (RFC 7692 7.2.2): put the sync flush's tail back and inflate. */
function inflateMessage(payload: Buffer): string {
  return inflateRawSync(Buffer.concat([payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: constants.Z_SYNC_FLUSH }).toString();
}

describe('a message deflated once', () => {
  it('is the opening in stored blocks and the body deflated, which inflate back to both, however long the opening', async () => {
    const body = Buffer.from(JSON.stringify({ tasks: Array.from({ length: 500 }, (_, i) => ({ id: `1/t${i}`, state: 'waiting' })) }));
    const compressed = deflatedBody(body);
    expect(compressed.length).toBeLessThan(body.length / 5);
    expect(deflatedBody(body)).toBe(compressed);
    for (const opening of ['{"id":"1","type":"next","payload":', 'x'.repeat(70_000 * 2 + 3), '']) {
      expect(inflateMessage(Buffer.concat([storedBlocks(Buffer.from(opening)), compressed]))).toBe(opening + body.toString());
    }
  });
});

describe('a receiver that keeps its window from one message to the next', () => {
  it('inflates message after message on one stream', async () => {
    const inflater = createInflateRaw();
    const inflate = (payload: Buffer): Promise<string> =>
      new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        const onData = (chunk: Buffer): number => chunks.push(chunk);
        inflater.on('data', onData);
        inflater.write(Buffer.concat([payload, Buffer.from([0, 0, 0xff, 0xff])]));
        inflater.flush(constants.Z_SYNC_FLUSH, () => {
          inflater.off('data', onData);
          resolve(Buffer.concat(chunks).toString());
        });
        inflater.once('error', reject);
      });
    const body = Buffer.from(JSON.stringify({ tasks: Array.from({ length: 300 }, (_, i) => ({ id: `1/t${i}` })) }));
    for (const opening of ['{"id":"1"', '', 'y'.repeat(70_000)]) {
      expect(await inflate(Buffer.concat([storedBlocks(Buffer.from(opening)), deflatedBody(body)]))).toBe(opening + body.toString());
    }
    inflater.close();
  });
});

describe('on a real socket', () => {
  let pairs: WsPairs;
  const connect: typeof pairs.connect = (perMessageDeflate) => pairs.connect(perMessageDeflate);

  beforeAll(async () => {
    pairs = await startWsPairs();
  });
  afterEach(() => pairs.dropClients());
  afterAll(() => pairs.close());

  it('reaches a client that agreed, exactly and in order with what ws sends itself, in fewer bytes than the text', async () => {
    const { client, server, received } = await connect(true);
    expect(deflateWindow(server)).toBe(15);
    const opening = Buffer.from('{"id":"7","type":"next","payload":');
    const body = Buffer.from(`${JSON.stringify({ data: { rows: Array.from({ length: 2000 }, (_, i) => `row ${i}`) } })}}`);
    const compressed = deflatedBody(body);
    // Large enough that ws would deflate them itself (and send them late) at its default threshold.
    const first = 'f'.repeat(4096);
    const last = 'l'.repeat(4096);
    const before = wireBytes(client);
    server.send(first);
    server.ping('one');
    let written: boolean | undefined;
    await new Promise<void>((resolve, reject) => {
      written = writeCompressed(server, opening, compressed, (err) => (err ? reject(err) : resolve()));
    });
    expect(written).toBe(true);
    server.ping('two');
    server.send(last);
    await waitFor('every message', () => received.length === 5);
    expect(received).toEqual([first, '(ping one)', opening.toString() + body.toString(), '(ping two)', last]);
    expect(wireBytes(client) - before).toBeLessThan(first.length + last.length + body.length / 3);
  });

  it('deflates with the narrower window a client asked for, which it inflates exactly', async () => {
    const { server, received } = await connect({ serverMaxWindowBits: 10 });
    expect(deflateWindow(server)).toBe(10);
    const opening = Buffer.from('{"id":"9","type":"next","payload":');
    // Repeats farther apart than 1 KB: a 32 KB window would refer back past what this client keeps.
    const body = Buffer.from(Array.from({ length: 40 }, () => randomBytes(600).toString('hex')).join('').repeat(2));
    expect(deflatedBody(body, 10)).not.toEqual(deflatedBody(body));
    writeCompressed(server, opening, deflatedBody(body, deflateWindow(server)), () => undefined);
    await waitFor('the message', () => received.length === 1);
    expect(received).toEqual([opening.toString() + body.toString()]);
  });

  it('leaves a message to ws while ws holds messages of its own back, so that the order holds', async () => {
    const { server, received } = await connect(true);
    // ws reads a Blob's bytes asynchronously, queueing what is sent meanwhile.
    server.send(new Blob(['blob first']));
    expect(writeCompressed(server, Buffer.from('{'), deflatedBody(Buffer.from('x'.repeat(2000))), () => undefined)).toBe(false);
    server.send('then text');
    await waitFor('both messages', () => received.length === 2);
    expect(received).toEqual(['(binary)', 'then text']);
  });

  it('reports a write to a socket already gone to its callback', async () => {
    const { server } = await connect(true);
    tcpSocket(server).destroy();
    const failure = await new Promise<Error | undefined>((resolve) => writeCompressed(server, Buffer.from('{'), deflatedBody(Buffer.from('x'.repeat(2000))), resolve));
    expect(failure).toBeInstanceOf(Error);
  });

  it('frames messages of every length class (7-bit, 16-bit and 64-bit lengths) so that the client reads them exactly', async () => {
    const { server, received } = await connect(true);
    const opening = Buffer.from('{"id":"8","type":"next","payload":');
    // Random hex barely compresses: 200 KB of it is well past 64 KB deflated.
    const bodies = ['{"a":1}', randomBytes(2000).toString('hex'), randomBytes(100_000).toString('hex')].map((text) => Buffer.from(text));
    const lengths = bodies.map((body) => storedBlocks(opening).length + deflatedBody(body).length);
    expect(lengths[0]).toBeLessThan(126);
    expect(lengths[1]).toBeGreaterThanOrEqual(126);
    expect(lengths[1]).toBeLessThan(0x10000);
    expect(lengths[2]).toBeGreaterThan(0xffff);
    for (const body of bodies) writeCompressed(server, opening, deflatedBody(body), () => undefined);
    await waitFor('three messages', () => received.length === 3);
    expect(received).toEqual(bodies.map((body) => opening.toString() + body.toString()));
  });

  it('is not used for a client that did not agree', async () => {
    const { server } = await connect(false);
    expect(server.extensions).toBe('');
    expect(deflateWindow(server)).toBeUndefined();
  });
});

describe('the workflow server', () => {
  let server: TestServer;
  const sockets: GraphqlSocket[] = [];
  const GATED = `tasks:\n  gate: { script: "sleep 30" }\n${Array.from({ length: 300 }, (_, i) => `  t${i}: { script: "true", depends: [gate] }`).join('\n')}\n`;
  const QUERY = 'subscription { deltas(workflows: ["wide"]) { workflow added { tasks { id state } } } }';

  beforeAll(async () => {
    server = await startTestServer({ owner: 'alice', flows: { wide: GATED } });
    const played = await server.graphql(ALICE, 'mutation { play(workflows: ["wide"]) { ok } }');
    expect(played.body.data.play[0].ok).toBe(true);
  });
  afterAll(async () => {
    for (const s of sockets) s.ws.terminate();
    await server.graphql(ALICE, 'mutation { stop(workflows: ["wide"], mode: "kill") { ok } }').catch(() => undefined);
    await server.close();
  });

  /** The first burst of `socket`'s subscription and how many bytes the wire carried for it. */
  async function firstBurst(socket: GraphqlSocket): Promise<{ tasks: unknown[]; bytes: number; text: number }> {
    const before = wireBytes(socket.ws);
    socket.subscribe('1', QUERY);
    await waitFor('the first burst', () => socket.of('1').some((m) => m.payload.data.deltas.added?.tasks?.length === 301));
    const burst = socket.of('1').find((m) => m.payload.data.deltas.added?.tasks?.length === 301)!;
    return { tasks: burst.payload.data.deltas.added.tasks, bytes: wireBytes(socket.ws) - before, text: JSON.stringify(burst).length };
  }

  it('sends a large delta deflated to a client that agreed, and as plain text to one that did not', async () => {
    const compressing = await connectSocket(server, ALICE, sockets);
    expect(compressing.ws.extensions).toContain('permessage-deflate');
    const deflated = await firstBurst(compressing);
    expect(deflated.tasks).toContainEqual({ id: '1/t299', state: 'waiting' });
    expect(deflated.bytes).toBeLessThan(deflated.text / 3);

    const plainWs = await openPlainSocket(server);
    const plain = new GraphqlSocket(plainWs);
    sockets.push(plain);
    await plain.init();
    expect(plainWs.extensions).toBe('');
    const text = await firstBurst(plain);
    expect(text.tasks).toEqual(deflated.tasks);
    expect(text.bytes).toBeGreaterThanOrEqual(text.text);
  });
});

/** A subscriptions socket for alice whose client does not offer permessage-deflate. */
function openPlainSocket(server: TestServer): Promise<WebSocket> {
  const target = `${server.base}subscriptions`;
  const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}${target}`, 'graphql-transport-ws', { headers: server.sign(ALICE, 'GET', target), perMessageDeflate: false });
  return new Promise((resolve, reject) => ws.once('open', () => resolve(ws)).once('error', reject));
}
