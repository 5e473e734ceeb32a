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

/**
 * A live subscription that reconnects (with back-off) when the connection drops, except when the
 * server closed it because access was revoked. `onStatus` gets 'connecting' | 'live' |
 * 'reconnecting' | 'revoked'. Returns a function that ends the subscription.
 */
export function subscribe(query, variables, { onNext, onError, onStatus }) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const url = `${scheme}//${location.host}${root}subscriptions`;
  let socket;
  let stopped = false;
  let attempt = 0;
  let timer;

  const connect = () => {
    onStatus?.(attempt === 0 ? 'connecting' : 'reconnecting');
    socket = new WebSocket(url, 'graphql-transport-ws');
    socket.onopen = () => socket.send(JSON.stringify({ type: 'connection_init' }));
    socket.onmessage = (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      switch (message.type) {
        case 'connection_ack':
          attempt = 0;
          onStatus?.('live');
          socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables } }));
          break;
        case 'ping':
          socket.send(JSON.stringify({ type: 'pong' }));
          break;
        case 'next':
          if (message.payload?.errors?.length) onError?.(message.payload.errors[0].message);
          if (message.payload?.data) onNext(message.payload.data);
          break;
        case 'error':
          onError?.(message.payload?.[0]?.message ?? 'subscription refused');
          break;
        default:
          break;
      }
    };
    socket.onclose = (event) => {
      if (stopped) return;
      if (event.code === CLOSE_FORBIDDEN) {
        onStatus?.('revoked');
        return;
      }
      attempt += 1;
      onStatus?.('reconnecting');
      // A refused upgrade (no access any more) looks like 1006 here; back off up to 30 s.
      timer = setTimeout(connect, Math.min(30_000, 500 * 2 ** Math.min(attempt, 6)));
    };
  };
  connect();
  return () => {
    stopped = true;
    clearTimeout(timer);
    socket?.close(1000);
  };
}
