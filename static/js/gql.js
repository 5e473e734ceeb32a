// GraphQL from the browser: queries and mutations over HTTP (with the hub's XSRF token), and
// subscriptions over WebSocket with the graphql-transport-ws protocol. Plain ES module, no bundler.

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

// The page's one graphql-transport-ws connection, shared by all of its subscriptions.
const live = {
  socket: null,
  ready: false,
  attempt: 0,
  timer: undefined,
  revoked: false,
  nextId: 1,
  /** id → { query, variables, onNext, onError, onStatus } */
  subscriptions: new Map(),
};

function tellStatus(status) {
  for (const sub of live.subscriptions.values()) sub.onStatus?.(status);
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
  tellStatus(live.attempt === 0 ? 'connecting' : 'reconnecting');
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
      live.revoked = true;
      tellStatus('revoked');
      return;
    }
    live.attempt += 1;
    tellStatus('reconnecting');
    // A refused upgrade (no access any more) looks like 1006 here; back off up to 30 s.
    live.timer = setTimeout(connect, Math.min(30_000, 500 * 2 ** Math.min(live.attempt, 6)));
  };
}

/**
 * A live subscription over the page's shared connection, which reconnects (with back-off) when it
 * drops, except when the server closed it because access was revoked; every subscription is sent
 * again on each new connection. `onStatus` gets 'connecting' | 'live' | 'reconnecting' |
 * 'revoked'. Returns a function that ends the subscription.
 */
export function subscribe(query, variables, { onNext, onError, onStatus }) {
  if (live.revoked) {
    onStatus?.('revoked');
    return () => undefined;
  }
  const id = String(live.nextId++);
  const sub = { query, variables, onNext, onError, onStatus };
  live.subscriptions.set(id, sub);
  if (live.ready) {
    start(id, sub);
    onStatus?.('live');
  } else if (live.socket || live.timer !== undefined) {
    onStatus?.(live.attempt === 0 ? 'connecting' : 'reconnecting');
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
