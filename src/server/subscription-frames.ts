/**
 * Runs subscriptions for graphql-ws (its `subscribe` option) and writes their `next` messages to
 * the socket itself, so that one delta reaching many subscribers is executed and serialised once
 * per subscription document, not once per subscriber.
 *
 * Sharing is safe because of what is shared and what is not. Which deltas a subscriber receives
 * is decided per subscriber by its stream (src/graphql/delta-stream.ts, on its own viewer): a
 * workflow it may not read never reaches it, so it never asks for that delta's result. What is
 * shared is only the result of one delta object under one document (query, operation name and
 * coerced variables), and it is executed with NO_VIEWER, a context that holds no one's identity:
 * the fields of a Delta are plain data, so the same delta and document give the same bytes
 * whoever asks, and a resolver that ever looked for a viewer there would fail instead of showing
 * one person's view to another. Events that are not shared deltas (the permissions stream, which
 * is per user) are executed for their subscriber alone, with its own context.
 *
 * A message is the subscriber's own opening (`{"id":…,"type":"next","payload":`) and the shared
 * rest, written as one frame without copying the rest for each socket (text-frames.ts). The next
 * event is taken only once the client has read the message (client-reads.ts: a ping written
 * with the message, in the same write), so each stream goes at its client's pace, a slow
 * client holds up its own stream alone, and what changes meanwhile merges into one delta
 * (src/scheduler/deltas.ts) rather than queueing in socket buffers. Where the client agreed to
 * permessage-deflate, the shared rest is also deflated once for everyone (compressed-messages.ts).
 */
import type { WebSocket } from 'ws';
import {
  createSourceEventStream, execute, type ExecutionArgs, type ExecutionResult, type GraphQLError,
} from '../graphql/graphql-js.js';
import { streamIterator } from '../graphql/stream-iterator.js';
import { clientHasRead } from './client-reads.js';
import { COMPRESS_FROM, deflatedBody, deflateWindow, writeCompressed } from './compressed-messages.js';
import { inOneWrite, writeTextFrame } from './text-frames.js';

/** Where one subscription's messages go, and what its result depends on besides the event. */
export interface FrameTarget {
  socket: WebSocket;
  /** The graphql-ws id of the subscription on that socket. */
  id: string;
  /** Query, operation name and coerced variables: equal keys give equal results for a shared event. */
  documentKey: string;
}

/** The context of every shared execution: no identity, no viewer, nothing to read. */
export const NO_VIEWER: Readonly<Record<string, never>> = Object.freeze({});

/**
 * Documents whose result is kept per shared event. The page and scripts ask with one or two; more
 * are executed per subscriber, so that many different documents cannot pin many copies of a large
 * first burst (which lives until its workflow changes).
 */
const SHARED_DOCUMENTS = 4;

export class SubscriptionFrames {
  private readonly targets = new WeakMap<object, FrameTarget>();
  /** Per shared event, its serialised payload per document: lives as long as the event does. */
  private readonly shared = new WeakMap<object, Map<string, Promise<Buffer>>>();
  /** Payloads serialised so far, shared ones once (for tests and benchmarks). */
  serialised = 0;

  /** `isShared(event)`: whether the event is one object given to many subscribers (a delta). */
  constructor(private readonly isShared: (event: unknown) => event is object) {}

  /** Ties an operation's context to where its messages go (before graphql-ws subscribes it). */
  bind(contextValue: object, target: FrameTarget): void {
    this.targets.set(contextValue, target);
  }

  /** graphql-ws's `subscribe`: an iterator that writes every result itself and yields none. */
  readonly subscribe = async (args: ExecutionArgs): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> => {
    const target = this.targets.get(args.contextValue as object);
    // Only operations this server set up reach here; anything else is refused, not guessed at.
    if (!target) throw new Error('subscription without a socket to write to');
    const stream = await createSourceEventStream(args);
    // Not a stream: the errors of a refused subscription, which graphql-ws sends as they are.
    if (!(Symbol.asyncIterator in stream)) return stream;
    return this.writer(stream[Symbol.asyncIterator](), args, target);
  };

  private writer(source: AsyncIterator<unknown>, args: ExecutionArgs, target: FrameTarget): AsyncIterableIterator<ExecutionResult> {
    const opening = Buffer.from(`{"id":${JSON.stringify(target.id)},"type":"next","payload":`);
    let stopped = false;
    const finish = (): IteratorReturnResult<undefined> => {
      // Set first: a result still being made when graphql-ws completes the id is never sent after.
      if (!stopped) {
        stopped = true;
        Promise.resolve(source.return?.(undefined)).catch(() => undefined);
      }
      return { done: true, value: undefined };
    };
    const next = async (): Promise<IteratorResult<ExecutionResult>> => {
      try {
        while (!stopped) {
          const event = await source.next();
          if (event.done) return finish();
          const body = await this.payload(event.value, args, target.documentKey);
          if (stopped) break;
          const { socket } = target;
          await inOneWrite(socket, () => Promise.all([send(socket, opening, body), clientHasRead(socket)]));
        }
      } catch (err) {
        // A socket reset under a write, say: graphql-ws sends the client an `error` for the id but
        // neither returns an iterator whose next() failed nor, having dropped the id, at the
        // socket's close; the source is let go here.
        finish();
        throw err;
      }
      return finish();
    };
    return streamIterator(next, finish);
  }

  /** The rest of the message after the opening: the result as JSON, then the closing brace. */
  private payload(event: unknown, args: ExecutionArgs, documentKey: string): Promise<Buffer> {
    if (!this.isShared(event)) return this.result({ ...args, rootValue: event });
    let byDocument = this.shared.get(event);
    if (!byDocument) this.shared.set(event, (byDocument = new Map()));
    let body = byDocument.get(documentKey);
    if (body) return body;
    body = this.result({ ...args, rootValue: event, contextValue: NO_VIEWER });
    // Kept at once, so that subscribers asking meanwhile wait for the same one.
    if (byDocument.size < SHARED_DOCUMENTS) byDocument.set(documentKey, body);
    return body;
  }

  private async result(args: ExecutionArgs): Promise<Buffer> {
    return this.serialise(await execute(args));
  }

  /** As graphql-ws writes a result: errors in their JSON form, and none when there are none. */
  private serialise(result: ExecutionResult): Buffer {
    this.serialised++;
    const { errors, ...rest } = result;
    const payload = errors ? { ...rest, errors: errors.map((e: GraphQLError) => e.toJSON()) } : rest;
    return Buffer.from(`${JSON.stringify(payload)}}`);
  }
}

/**
 * Writes one text message, compressed when the client agreed to it and the body is worth it (the
 * deflated body is made once and shared like the body); resolves once the socket has taken it
 * (or is gone). Through `ws`, copied into one buffer, only when `ws` holds messages back.
 */
function send(socket: WebSocket, opening: Buffer, body: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.readyState !== socket.OPEN) return resolve();
    const done = (err?: Error): void => (err ? reject(err) : resolve());
    const windowBits = body.length >= COMPRESS_FROM ? deflateWindow(socket) : undefined;
    const written = windowBits === undefined
      ? writeTextFrame(socket, [opening, body], false, done)
      : writeCompressed(socket, opening, deflatedBody(body, windowBits), done);
    if (!written) socket.send(Buffer.concat([opening, body]), { binary: false }, done);
  });
}
