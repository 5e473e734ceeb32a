/**
 * What the GraphQL layer may ask about the person a request or a socket belongs to. The server
 * binds it to one identity and answers each call afresh, so a socket's view follows every change
 * of sharing, site limits or groups; any doubt answers "no".
 */
import type { Operation } from '../authz/index.js';

/** Server-wide permissions, and per workflow (readable ones only) where they differ. */
export interface PermissionSummary {
  server: ReadonlySet<Operation>;
  workflows: ReadonlyMap<string, ReadonlySet<Operation>>;
}

export interface ViewerAccess {
  /** The user's groups, as the server decides with them. */
  groups(): string[];
  /** `read` server-wide or on some workflow: may use the server at all. */
  mayOpen(): boolean;
  mayRead(workflow: string): boolean;
  /** Server-wide, or on one workflow. */
  permitted(workflow?: string): ReadonlySet<Operation>;
  summary(): PermissionSummary;
}

/** Calls `listener` after every recompute of permissions; returns a function that stops it. */
export interface ChangeFeed {
  onChange(listener: () => void): () => void;
}
