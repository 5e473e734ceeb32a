/**
 * `Subscription.permissions` as an async iterator: the user's permissions now (server-wide and the
 * per-workflow differences), then again after every recompute that changed them. Only the latest
 * value is kept while the client is slow, so a burst of changes costs one slot, not a queue.
 *
 * The stream ends when the user may no longer open the server (no `read` anywhere): like every
 * subscription it needs that (the server closes such sockets with 4403 at the same moment; ending
 * here fails closed anyway).
 */
import { graphqlNames } from '../authz/index.js';
import { streamIterator } from './stream-iterator.js';
import type { ChangeFeed, PermissionSummary, ViewerAccess } from './viewer.js';

export interface PermissionsView {
  permissions: string[];
  workflowPermissions: { workflow: string; permissions: string[] }[];
}

type Event = { permissions: PermissionsView };

/** The GraphQL shape of a summary, as Query.me and Subscription.permissions give it. */
export function permissionsView(summary: PermissionSummary): PermissionsView {
  return {
    permissions: graphqlNames(summary.server),
    workflowPermissions: [...summary.workflows]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([workflow, permitted]) => ({ workflow, permissions: graphqlNames(permitted) })),
  };
}

export function permissionStream(viewer: ViewerAccess, changes: ChangeFeed): AsyncIterableIterator<Event> {
  let pending = true;
  let sent: string | undefined;
  let wake: (() => void) | undefined;
  let done = false;
  const stop = changes.onChange(() => {
    pending = true;
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
      if (pending) {
        pending = false;
        if (!viewer.mayOpen()) return finish();
        const view = permissionsView(viewer.summary());
        const key = JSON.stringify(view);
        if (key !== sent) {
          sent = key;
          return { done: false, value: { permissions: view } };
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
