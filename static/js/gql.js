// GraphQL from the browser: queries and mutations over HTTP (with the hub's XSRF token), and
// subscriptions over WebSocket with the graphql-transport-ws protocol. Plain ES module, no bundler.
import { checkConnection, reconnectDelay } from './connection.js';

const pageData = JSON.parse(document.getElementById('page-data').textContent);
export const root = pageData.root;
export const data = pageData;

function xsrfToken() {
  return document.querySelector('meta[name="_xsrf"]')?.content ?? '';
}

export class GraphqlError extends Error {
  constructor(message, { status, code, operation } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.operation = operation;
  }
}

/** Runs a query or mutation; resolves to `data`, rejects with a GraphqlError. */
export async function graphql(query, variables = {}) {
  let response;
  try {
    response = await fetch(`${root}graphql`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-XSRFToken': xsrfToken() },
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new GraphqlError('The server cannot be reached.', { status: 0 });
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new GraphqlError(`The server answered ${response.status} ${response.statusText}.`, { status: response.status });
  }
  const first = body.errors?.[0];
  if (first) {
    throw new GraphqlError(first.message, { status: response.status, code: first.extensions?.code, operation: first.extensions?.operation });
  }
  if (!response.ok) throw new GraphqlError(body.error ?? `The server answered ${response.status}.`, { status: response.status });
  return body.data;
}

/** JSON REST calls under the server's root, with the XSRF token. */
export async function api(path, { method = 'GET', body } = {}) {
  const response = await fetch(`${root}${path}`, {
    method,
    credentials: 'same-origin',
    headers: { Accept: 'application/json', 'X-XSRFToken': xsrfToken(), ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  let json = null;
  try {
    json = await response.json();
  } catch {
    // fall through with null: the status says enough
  }
  return { ok: response.ok, status: response.status, json };
}

const CLOSE_FORBIDDEN = 4403;
/** Statuses after which the page stays cut off: nothing comes back without signing in or a reload. */
const FINAL = new Set(['revoked', 'signed-out']);
/** Statuses that last until the server answers again: attempts go on, and do not say 'reconnecting'. */
const SERVER_DOWN = new Set(['server-stopped', 'server-starting']);

// The page's one graphql-transport-ws connection, shared by all of its subscriptions.
const live = {
  socket: null,
  ready: false,
  attempt: 0,
  timer: undefined,
  /** A failed connection's reason is being asked of the server. */
  checking: false,
  /** The last status told: 'connecting' | 'live' | 'reconnecting' | 'server-stopped' | 'server-starting' | FINAL. */
  status: undefined,
  nextId: 1,
  /** id → { query, variables, onNext, onError, onStatus } */
  subscriptions: new Map(),
};

function tellStatus(status) {
  live.status = status;
  for (const sub of live.subscriptions.values()) sub.onStatus?.(status);
}

/** Another attempt is under way; a server known to be down stays so until it answers. */
function tellTrying() {
  if (!SERVER_DOWN.has(live.status)) tellStatus(live.attempt === 0 ? 'connecting' : 'reconnecting');
}

function start(id, sub) {
  live.socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query: sub.query, variables: sub.variables } }));
}

function connect() {
  live.timer = undefined;
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(`${scheme}//${location.host}${root}subscriptions`, 'graphql-transport-ws');
  live.socket = socket;
  live.ready = false;
  let acked = false;
  tellTrying();
  socket.onopen = () => socket.send(JSON.stringify({ type: 'connection_init' }));
  socket.onmessage = (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    const sub = live.subscriptions.get(message.id);
    switch (message.type) {
      case 'connection_ack':
        acked = true;
        live.ready = true;
        live.attempt = 0;
        tellStatus('live');
        for (const [id, each] of live.subscriptions) start(id, each);
        break;
      case 'ping':
        socket.send(JSON.stringify({ type: 'pong' }));
        break;
      case 'next':
        if (message.payload?.errors?.length) sub?.onError?.(message.payload.errors[0].message);
        if (message.payload?.data) sub?.onNext(message.payload.data);
        break;
      case 'error':
        // The server refused this one subscription; it is over, the others carry on.
        live.subscriptions.delete(message.id);
        sub?.onError?.(message.payload?.[0]?.message ?? 'subscription refused');
        break;
      case 'complete':
        live.subscriptions.delete(message.id);
        break;
      default:
        break;
    }
  };
  socket.onclose = (event) => {
    if (socket !== live.socket) return;
    live.socket = null;
    live.ready = false;
    if (live.subscriptions.size === 0) return;
    if (event.code === CLOSE_FORBIDDEN) {
      tellStatus('revoked');
      return;
    }
    live.attempt += 1;
    tellTrying();
    // A connection that was up has dropped: try again first. One that never came up was refused
    // or found nothing, and the browser cannot say which: ask why before trying again.
    if (acked) live.timer = setTimeout(connect, reconnectDelay(live.attempt));
    else askWhyThenRetry();
  };
}

/** After a failed connection: ask why, then give up for good or try again later. */
async function askWhyThenRetry() {
  live.checking = true;
  const { state } = await checkConnection(root);
  live.checking = false;
  if (live.subscriptions.size === 0 || live.socket) return;
  if (state === 'signed-out' || state === 'no-access') {
    tellStatus(state === 'signed-out' ? 'signed-out' : 'revoked');
    return;
  }
  tellStatus(state === 'retry' ? 'reconnecting' : state);
  live.timer = setTimeout(connect, reconnectDelay(live.attempt));
}

/**
 * A live subscription over the page's shared connection. When the connection fails, the server
 * is asked why (see connection.js): a visitor who was signed out or lost access gets 'signed-out'
 * or 'revoked' and the page stops trying; a server that is down gets 'server-stopped' or
 * 'server-starting', and anything else 'reconnecting', with attempts going on (backing off to
 * 30 s) until it answers; every subscription is sent again on each new connection. `onStatus`
 * gets 'connecting' | 'live' | 'reconnecting' | 'server-stopped' | 'server-starting' |
 * 'signed-out' | 'revoked'. Returns a function that ends the subscription.
 */
export function subscribe(query, variables, { onNext, onError, onStatus }) {
  if (FINAL.has(live.status)) {
    onStatus?.(live.status);
    return () => undefined;
  }
  const id = String(live.nextId++);
  const sub = { query, variables, onNext, onError, onStatus };
  live.subscriptions.set(id, sub);
  if (live.ready) {
    start(id, sub);
    onStatus?.('live');
  } else if (live.socket || live.timer !== undefined || live.checking) {
    onStatus?.(live.status);
  } else {
    connect();
  }
  return () => {
    if (!live.subscriptions.delete(id)) return;
    if (live.ready) live.socket.send(JSON.stringify({ id, type: 'complete' }));
    if (live.subscriptions.size === 0) {
      clearTimeout(live.timer);
      live.timer = undefined;
      live.socket?.close(1000);
      live.socket = null;
      live.ready = false;
    }
  };
}
