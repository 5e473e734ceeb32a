// The one live connection module: GraphQL subscriptions to one workflow server over
// graphql-ws's own client (protocol, acknowledgement, ping/pong, ids, lazy open and close), with
// this product's rule for what to do when a connection fails. A browser reports a refused
// WebSocket upgrade only as close code 1006, so after a connection that never came up the server
// is asked why (connection.js) before anything is tried again: a visitor who was signed out or
// lost access stops for good instead of retrying forever. Used by the workflow server's pages
// (gql.js, one server) and the hub's monitor (one per owner).
import { createClient } from '../vendor/graphql-ws/client.js';
import { checkConnection, reconnectDelay } from './connection.js';

const CLOSE_FORBIDDEN = 4403;
/** How long an open socket may wait for the server's acknowledgement before it counts as failed. */
const ACK_WAIT_MS = 10_000;
/** Statuses after which nothing comes back without signing in again or a reload. */
export const FINAL = new Set(['revoked', 'signed-out']);
/** Statuses that last until the server answers again: attempts go on without saying 'reconnecting'. */
const SERVER_DOWN = new Set(['server-stopped', 'server-starting']);

/**
 * A live connection to the workflow server at `root` (`/user/NAME/`), opened with the first
 * subscription and closed with the last.
 * - `onStatus(status, why)`: 'connecting' | 'live' | 'reconnecting' | 'server-stopped' |
 *   'server-starting' | 'signed-out' | 'revoked', and for 'revoked' the server's words when it gave them.
 * - `whyFailed()`: what a failed connection means, as checkConnection(root) answers it (the
 *   default). The monitor asks the hub first instead, since asking a stopped server would start
 *   it, and ends its subscription when the server has stopped: nothing is tried then.
 * Every subscription is sent again on each new connection, so its first message after a
 * reconnection is the full state again.
 */
export function openLive(root, { onStatus = () => undefined, whyFailed = () => checkConnection(root) } = {}) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  /** id → { payload, handlers, stop } */
  const subscriptions = new Map();
  let nextId = 1;
  let status;
  let attempt = 0;
  let timer;
  let acked = false;
  let handlingClose = false;

  const tell = (next, why) => {
    status = next;
    onStatus(next, why);
  };
  const tellTrying = () => {
    if (!SERVER_DOWN.has(status)) tell(attempt === 0 ? 'connecting' : 'reconnecting');
  };

  // Failures are handled here, once per connection: the client itself never retries.
  const client = createClient({
    url: `${scheme}//${location.host}${root}subscriptions`,
    lazy: true,
    retryAttempts: 0,
    // A socket that opened but is never acknowledged (a server stuck mid-handshake) is given up
    // and tried again like any other failed connection, instead of leaving the page waiting.
    connectionAckWaitTimeout: ACK_WAIT_MS,
    // A connection the page no longer wants (its last subscription ended meanwhile) says nothing.
    on: {
      connecting: () => subscriptions.size > 0 && tellTrying(),
      connected: () => {
        if (subscriptions.size === 0) return;
        acked = true;
        attempt = 0;
        tell('live');
      },
      closed: (event) => void connectionEnded(event),
    },
  });

  function start(id, sub) {
    sub.stop = client.subscribe(sub.payload, {
      next: (result) => {
        if (result.errors?.length) sub.handlers.onError?.(result.errors[0].message);
        if (result.data) sub.handlers.onNext(result.data);
      },
      // An array is the server refusing this one subscription: it is over, the others carry on.
      // Anything else is the connection ending, which connectionEnded() deals with.
      error: (err) => {
        if (!Array.isArray(err)) return;
        subscriptions.delete(id);
        sub.handlers.onError?.(err[0]?.message ?? 'subscription refused');
      },
      complete: () => undefined,
    });
  }

  function startAll() {
    timer = undefined;
    if (FINAL.has(status) || subscriptions.size === 0) return;
    for (const [id, sub] of subscriptions) start(id, sub);
  }

  async function connectionEnded(event) {
    const wasAcked = acked;
    acked = false;
    // The client counts each subscription until it is ended, even one its connection took down:
    // ended here, so that the socket still closes when the page's last subscription goes.
    for (const sub of subscriptions.values()) {
      sub.stop?.();
      sub.stop = undefined;
    }
    // The last subscription ending closes the socket normally; so does a page leaving.
    if (subscriptions.size === 0 || handlingClose || FINAL.has(status)) return;
    if (event?.code === CLOSE_FORBIDDEN) {
      tell('revoked', event.reason || undefined);
      return;
    }
    attempt += 1;
    tellTrying();
    if (wasAcked) {
      // A connection that was up has dropped: try again first.
      timer = setTimeout(startAll, reconnectDelay(attempt));
      return;
    }
    // One that never came up was refused or found nothing: ask why before trying again.
    handlingClose = true;
    const { state, why } = await whyFailed().catch(() => ({ state: 'retry' }));
    handlingClose = false;
    if (subscriptions.size === 0) return;
    if (state === 'signed-out' || state === 'no-access') {
      tell(state === 'signed-out' ? 'signed-out' : 'revoked', why);
      return;
    }
    tell(state === 'retry' ? 'reconnecting' : state);
    timer = setTimeout(startAll, reconnectDelay(attempt));
  }

  return {
    /** Subscribes; `handlers`: { onNext(data), onError(message) }. Returns a function that ends it. */
    subscribe(query, variables, handlers) {
      const id = String(nextId++);
      const sub = { payload: { query, variables }, handlers, stop: undefined };
      subscriptions.set(id, sub);
      if (!FINAL.has(status) && timer === undefined && !handlingClose) start(id, sub);
      return () => {
        if (!subscriptions.delete(id)) return;
        sub.stop?.();
        if (subscriptions.size === 0) {
          clearTimeout(timer);
          timer = undefined;
        }
      };
    },
    /** Tries again at once rather than when the back-off says (a person asked to). */
    retryNow() {
      if (timer === undefined) return;
      clearTimeout(timer);
      startAll();
    },
    /** Ends every subscription and the connection. */
    close() {
      clearTimeout(timer);
      timer = undefined;
      for (const sub of subscriptions.values()) sub.stop?.();
      subscriptions.clear();
      void client.dispose();
    },
    get status() {
      return status;
    },
  };
}
