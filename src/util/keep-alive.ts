/**
 * The connections the hub keeps alive to a workflow server are closed by the hub, after
 * HUB_IDLE_CONNECTION_MS without a request, long before the server would close them (after
 * SERVER_KEEP_ALIVE_MS): the side that sends requests on a connection must be the one that closes
 * it, or a connection closed as idle could meet a request just sent on it. The server's figure
 * stays below Node's 60 s headersTimeout.
 */
export const HUB_IDLE_CONNECTION_MS = 5_000;
export const SERVER_KEEP_ALIVE_MS = 30_000;
