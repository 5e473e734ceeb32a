// Why a live connection to a workflow server failed, and when to try again. A browser reports a
// refused WebSocket upgrade (401, 403, 404 or 503 from the hub) only as close code 1006, so the
// reason is asked of the same server over HTTP instead. Used by live.js, the one live connection
// module of the workflow server's pages and of the hub's monitor.

const MAX_DELAY_MS = 30_000;

/**
 * What a failed connection to the server at `root` (its base path, `/user/NAME/`) means:
 * - 'signed-out': the hub no longer knows the visitor (signed out elsewhere, session expired);
 * - 'no-access': the server is not theirs to reach or read any more;
 * - 'server-stopped': the server is not running, and this visitor may not start it;
 * - 'server-starting': the server is starting (the hub starts it on a visit by someone who may);
 * - 'retry': nothing that rules a connection out, such as a network drop or a restart under way.
 * Resolves to `{ state, status }` (status: the HTTP status, 0 when nothing answered). Note that
 * asking a stopped server may start it, as any visit does for someone allowed to start it.
 */
export async function checkConnection(root) {
  let response;
  try {
    response = await fetch(`${root}api/userprofile`, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  } catch {
    return { state: 'retry', status: 0 };
  }
  const { status } = response;
  const body = await response.json().catch(() => null);
  if (status === 401) return { state: 'signed-out', status };
  // The server's own words name the layer that refused (site, owner, token) and who can change it.
  if (status === 403 || status === 404) return { state: 'no-access', status, why: typeof body?.error === 'string' ? body.error : undefined };
  if (status === 503) return { state: body?.status === 'starting' ? 'server-starting' : 'server-stopped', status };
  // Read server-wide or on some workflow: either lets the visitor in.
  const reads = (list) => Array.isArray(list) && list.includes('read');
  if (response.ok && Array.isArray(body?.permissions) && !reads(body.permissions) && !(body.workflowPermissions ?? []).some((w) => reads(w.permissions))) {
    return { state: 'no-access', status };
  }
  return { state: 'retry', status };
}

/**
 * How long to wait before connection attempt number `attempt` (1, 2, …): doubling from one second
 * up to 30 s and staying there, so that a server that comes back is found again without the page
 * flooding it meanwhile. Jittered, so that many pages do not retry in step after a restart.
 */
export function reconnectDelay(attempt) {
  const base = Math.min(MAX_DELAY_MS, 1000 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.75 + Math.random() * 0.25));
}

/** The hub's sign-in page, coming back to this page afterwards. */
export function signInHref() {
  return `/hub/login?next=${encodeURIComponent(location.pathname + location.search)}`;
}
