// GraphQL from the browser: queries and mutations over HTTP (with the hub's XSRF token), and
// subscriptions over the page's one live connection (live.js). Plain ES module, no bundler.
import { openLive } from './live.js';

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

const statusListeners = new Set();
// The page's one live connection, shared by all of its subscriptions (see live.js).
const live = openLive(root, { onStatus: (status, why) => statusListeners.forEach((listener) => listener(status, why)) });

/**
 * A live subscription over the page's shared connection. `onStatus` follows the connection:
 * 'connecting' | 'live' | 'reconnecting' | 'server-stopped' | 'server-starting' | 'signed-out' |
 * 'revoked' (see live.js for what each means and what is tried). Returns a function that ends
 * the subscription.
 */
export function subscribe(query, variables, { onNext, onError, onStatus }) {
  if (onStatus) {
    statusListeners.add(onStatus);
    if (live.status !== undefined) onStatus(live.status);
  }
  const end = live.subscribe(query, variables, { onNext, onError });
  return () => {
    statusListeners.delete(onStatus);
    end();
  };
}
