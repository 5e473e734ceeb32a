/**
 * `Subscription.permissions` as an async iterator: the user's permitted operations now, then again
 * after every recompute of permissions that changed them. Only the latest list is kept while the
 * client is slow, so a burst of changes costs one slot, not a queue.
 *
 * The stream ends when the list no longer holds `read`: like every subscription it needs `read`
 * (the server closes such sockets with 4403 at the same moment; ending here fails closed anyway).
 */
import { graphqlNames, type Operation } from '../authz/index.js';
import { streamIterator } from './stream-iterator.js';

/** Where a socket's permissions come from; the server binds it to the socket's identity. */
export interface PermissionFeed {
  /** The operations the socket's user may perform as of now. */
  current(): ReadonlySet<Operation>;
  /** Calls `listener` after every recompute; returns a function that stops calling it. */
  onChange(listener: () => void): () => void;
}

type Event = { permissions: string[] };

export function permissionStream(feed: PermissionFeed): AsyncIterableIterator<Event> {
  const read = (): ReadonlySet<Operation> => {
    try {
      return feed.current();
    } catch {
      return new Set();
    }
  };
  let latest: ReadonlySet<Operation> | undefined = read();
  let sent: string | undefined;
  let wake: (() => void) | undefined;
  let done = false;
  const stop = feed.onChange(() => {
    latest = read();
    wake?.();
  });
  const finish = (): IteratorReturnResult<undefined> => {
    if (!done) {
      done = true;
      stop();
      wake?.();
    }
    return { done: true, value: undefined };
  };
  const next = async (): Promise<IteratorResult<Event>> => {
    while (!done) {
      if (latest) {
        const permitted = latest;
        latest = undefined;
        if (!permitted.has('read')) return finish();
        const names = graphqlNames(permitted);
        const key = names.join(',');
        if (key !== sent) {
          sent = key;
          return { done: false, value: { permissions: names } };
        }
        continue;
      }
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
    return finish();
  };
  return streamIterator(next, finish);
}
