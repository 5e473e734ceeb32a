/**
 * Whole messages written as one frame of parts (src/server/text-frames.ts): a real `ws` client reads
 * them exactly, in order with what `ws` sends itself, with nothing on the wire but one frame, and a
 * message and the ping after it leave in one write when asked to.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { inOneWrite, writeTextFrame } from '../../src/server/text-frames.js';
import { waitFor } from './helpers.js';
import { startWsPairs, wireBytes } from './ws-pair.js';

let pairs: Awaited<ReturnType<typeof startWsPairs>>;
beforeAll(async () => {
  pairs = await startWsPairs();
});
afterEach(() => pairs.dropClients());
afterAll(() => pairs.close());

const opening = Buffer.from('{"id":"3","type":"next","payload":');

describe('a message written as one frame', () => {
  it('reaches the client exactly, as one frame and nothing more, at every length class', async () => {
    const { client, server, received } = await pairs.connect(false);
    // Payloads under 126 bytes, under 64 KB and over it: headers of 2, 4 and 10 bytes.
    for (const [body, header] of [[Buffer.from('{"a":1}}'), 2], [Buffer.from(randomBytes(3000).toString('hex')), 4], [Buffer.from(randomBytes(60_000).toString('hex')), 10]] as const) {
      const before = wireBytes(client);
      await new Promise<void>((resolve, reject) => {
        expect(writeTextFrame(server, [opening, body], false, (err) => (err ? reject(err) : resolve()))).toBe(true);
      });
      await waitFor('the message', () => received.length === 1);
      expect(received.pop()).toBe(opening.toString() + body.toString());
      // Two frames (an opening and a continuation) would carry a second header.
      await waitFor('every byte of it', () => wireBytes(client) - before >= header + opening.length + body.length);
      expect(wireBytes(client) - before).toBe(header + opening.length + body.length);
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
});

describe('inOneWrite', () => {
  it('sends a message and the ping after it in one write to the socket, where they would otherwise take two', async () => {
    const { server, received } = await pairs.connect(false);
    const raw = (server as unknown as { _socket: { _write: () => void; _writev: () => void } })._socket;
    const writes = (): number => write.mock.calls.length + writev.mock.calls.length;
    const write = vi.spyOn(raw, '_write');
    const writev = vi.spyOn(raw, '_writev');
    const body = Buffer.from('{"data":{}}}');

    writeTextFrame(server, [opening, body], false, () => undefined);
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
