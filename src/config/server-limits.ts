/**
 * What one workflow server grants each request and each user (`WorkflowServer.limits` in the site
 * file, keeping its key names). The defaults leave every page room to spare while refusing the
 * known abuses: hundreds of aliased log reads, thousands of subscriptions or sockets.
 */
export interface ServerLimits {
  /** Largest cost of one GraphQL request (src/graphql/cost.ts says how a document is priced). */
  query_cost: number;
  /** Most fields in one GraphQL request, every alias and fragment use counted. */
  query_fields: number;
  /** Deepest nesting of selections in one GraphQL request. */
  query_depth: number;
  /** Largest GraphQL response, in bytes (over HTTP, and for each query sent over a socket). */
  response_bytes: number;
  /** Subscriptions (and queries) in progress on one socket at once. */
  subscriptions_per_socket: number;
  /** Open subscription sockets of one user on this server. */
  sockets_per_user: number;
}

export const DEFAULT_SERVER_LIMITS: Readonly<ServerLimits> = Object.freeze({
  query_cost: 20_000,
  query_fields: 1_000,
  query_depth: 12,
  response_bytes: 16 * 1024 * 1024,
  subscriptions_per_socket: 100,
  sockets_per_user: 50,
});
