/**
 * Whole messages written as one frame of parts (src/server/text-frames.ts): a real `ws` client reads
 * them exactly, in order with what `ws` sends itself, with nothing on the wire but one frame, and a
 * message and the ping after it leave in one write when asked to.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { inOneWrite, writeTextFrame } from '../../src/server/text-frames.js';
import { waitFor } from './helpers.js';
import { startWsPairs, tcpSocket, wireBytes, type WsPairs } from './ws-pair.js';

let pairs: WsPairs;
beforeAll(async () => {
  pairs = await startWsPairs();
});
afterEach(() => pairs.dropClients());
afterAll(() => pairs.close());

const opening = Buffer.from('{"id":"3","type":"next","payload":');

describe('a message written as one frame', () => {
  it('reaches the client exactly, as one frame and nothing more, on each side of every length boundary', async () => {
    const { client, server, received } = await pairs.connect(false);
    // Payloads of 125 and 126 bytes, 65,535 and 65,536: the header's length takes 0, 2 or 8 bytes more.
    for (const [payload, header] of [[125, 2], [126, 4], [0xffff, 4], [0x10000, 10], [200_000, 10]] as const) {
      const body = Buffer.from(randomBytes(payload).toString('hex').slice(0, payload - opening.length));
      const before = wireBytes(client);
      await new Promise<void>((resolve, reject) => {
        expect(writeTextFrame(server, [opening, body], false, (err) => (err ? reject(err) : resolve()))).toBe(true);
      });
      await waitFor('the message', () => received.length === 1);
      expect(received.pop()).toBe(opening.toString() + body.toString());
      // Two frames (an opening and a continuation) would carry a second header.
      await waitFor('every byte of it', () => wireBytes(client) - before >= header + payload);
      expect(wireBytes(client) - before).toBe(header + payload);
    }
  });

  it('keeps its place among the messages and pings ws sends itself', async () => {
    const { server, received } = await pairs.connect(false);
    const body = Buffer.from('x'.repeat(20_000));
    server.send('first');
    server.ping('one');
    expect(writeTextFrame(server, [opening, body], false, () => undefined)).toBe(true);
    server.ping('two');
    server.send('last');
    await waitFor('every message', () => received.length === 5);
    expect(received).toEqual(['first', '(ping one)', opening.toString() + body.toString(), '(ping two)', 'last']);
  });

  it('leaves the message to ws, writing nothing, while ws holds messages of its own back', async () => {
    const { client, server, received } = await pairs.connect(false);
    // ws reads a Blob's bytes asynchronously, queueing what is sent meanwhile.
    server.send(new Blob(['blob first']));
    const before = wireBytes(client);
    expect(writeTextFrame(server, [opening, Buffer.from('{}}')], false, () => undefined)).toBe(false);
    await waitFor('the Blob', () => received.length === 1);
    expect(received).toEqual(['(binary)']);
    expect(wireBytes(client) - before).toBe(2 + 'blob first'.length);
  });

  it('writes nothing after the close frame, nor on a client\'s socket (whose frames are masked)', async () => {
    const { client, server } = await pairs.connect(false);
    expect(writeTextFrame(client, [opening, Buffer.from('{}}')], false, () => undefined)).toBe(false);
    const closed = new Promise((resolve) => client.once('close', (code) => resolve(code)));
    server.close(1000);
    expect(writeTextFrame(server, [opening, Buffer.from('{}}')], false, () => undefined)).toBe(false);
    // A frame after the close frame would be a protocol error, which the client reports as 1002.
    expect(await closed).toBe(1000);
  });
});

describe('inOneWrite', () => {
  it('sends a message and the ping after it in one write to the socket, where they would otherwise take two', async () => {
    const { server, received } = await pairs.connect(false);
    const raw = tcpSocket(server) as unknown as { _write: () => void; _writev: () => void };
    const writes = (): number => write.mock.calls.length + writev.mock.calls.length;
    const write = vi.spyOn(raw, '_write');
    const writev = vi.spyOn(raw, '_writev');
    const body = Buffer.from('{"data":{}}}');

    // The ping after the message's write is done: they cannot share a write whatever the kernel took.
    await new Promise<void>((resolve) => writeTextFrame(server, [opening, body], false, () => resolve()));
    server.ping('apart');
    expect(writes()).toBe(2);

    const answer = inOneWrite(server, () => {
      writeTextFrame(server, [opening, body], false, () => undefined);
      server.ping('together');
      return 'what the function returned';
    });
    expect(answer).toBe('what the function returned');
    expect(writes()).toBe(3);
    await waitFor('all four', () => received.length === 4);
    expect(received).toEqual([opening.toString() + body.toString(), '(ping apart)', opening.toString() + body.toString(), '(ping together)']);
  });
});
