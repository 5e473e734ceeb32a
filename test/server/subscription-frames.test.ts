/**
 * The subscription writer (src/server/subscription-frames.ts) on a real socket: what it writes is
 * one message per event, each followed by its read receipt, and a socket that fails under a write
 * lets the subscription's source go.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildSchema, parse } from '../../src/graphql/graphql-js.js';
import { SubscriptionFrames } from '../../src/server/subscription-frames.js';
import { waitFor } from './helpers.js';
import { startWsPairs, tcpSocket, type WsPair, type WsPairs } from './ws-pair.js';

const schema = buildSchema('type Query { unused: Int } type Subscription { tick: Int }');

/** A source of `tick` events that counts how often it was let go. */
function ticks(): AsyncIterableIterator<{ tick: number }> & { returned: number } {
  let n = 0;
  return {
    returned: 0,
    async next() {
      return { done: false, value: { tick: ++n } };
    },
    async return() {
      this.returned++;
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/** The writer of a `tick` subscription (id "5") on `pair`'s server side, as graphql-ws would start it. */
async function subscribe(pair: WsPair, source: AsyncIterableIterator<unknown>): Promise<AsyncIterator<unknown>> {
  const frames = new SubscriptionFrames((event): event is object => false);
  const contextValue = {};
  frames.bind(contextValue, { socket: pair.server, id: '5', documentKey: 'tick' });
  const iterator = await frames.subscribe({ schema, document: parse('subscription { tick }'), rootValue: { tick: () => source }, contextValue });
  return iterator as AsyncIterator<unknown>;
}

let pairs: WsPairs;
beforeAll(async () => {
  pairs = await startWsPairs();
});
afterEach(() => pairs.dropClients());
afterAll(() => pairs.close());

describe('the subscription writer', () => {
  it('writes each event as a message followed by a read receipt, and takes the next once the client has read it', async () => {
    const pair = await startPair();
    const source = ticks();
    const writer = await subscribe(pair, source);
    void writer.next();
    await waitFor('three messages', () => pair.received.filter((m) => !m.startsWith('(ping')).length >= 3);
    const [first, receipt, second] = pair.received;
    expect(JSON.parse(first!)).toEqual({ id: '5', type: 'next', payload: { data: { tick: 1 } } });
    expect(receipt).toMatch(/^\(ping flotilla-read:\d+\)$/);
    expect(JSON.parse(second!)).toEqual({ id: '5', type: 'next', payload: { data: { tick: 2 } } });
    await writer.return?.();
    expect(source.returned).toBe(1);
  });

  it('lets the source go when the socket fails under a write', async () => {
    const pair = await startPair();
    const source = ticks();
    const writer = await subscribe(pair, source);
    // Reset under ws: the socket still reads as open, and the write fails.
    tcpSocket(pair.server).destroy();
    expect(pair.server.readyState).toBe(pair.server.OPEN);
    await expect(writer.next()).rejects.toThrow();
    expect(source.returned).toBe(1);
  });
});

const startPair = (): Promise<WsPair> => pairs.connect(false);
