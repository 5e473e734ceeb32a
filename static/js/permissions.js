// The visitor's permissions on this server, kept current without polling: the server pushes the
// list over the page's subscription connection when it subscribes (and on every reconnect) and
// whenever sharing, the site limits or group membership change it.
import { opName } from './controls.js';
import { data, graphql, subscribe } from './gql.js';

/**
 * Starts from the list the page was rendered with; `onChange(permissions)` gets the new Set of
 * permitted operations (GraphQL names) each time it differs.
 */
export function livePermissions(onChange) {
  let current = new Set(data.permissions ?? []);
  const take = (names) => {
    if (names.length === current.size && names.every((n) => current.has(n))) return;
    current = new Set(names);
    onChange(current);
  };
  subscribe('subscription { permissions }', {}, { onNext: ({ permissions }) => take(permissions) });
  return {
    get current() {
      return current;
    },
    /** Reads them now, e.g. after the server refused an operation the page thought was allowed. */
    async refresh() {
      try {
        take((await graphql('{ me { permissions } }')).me.permissions);
      } catch {
        // Refused or unreachable: the subscription tells the page when access is gone.
      }
    },
  };
}

/** For a visitor: what the permissions let them do here, as { text, title } (title: every name). */
export function describeAccess(permissions) {
  const others = [...permissions].filter((p) => p !== 'read').map(opName).sort();
  const title = others.join(', ');
  if (others.length === 0) return { text: 'You may see these workflows, not act on them.', title };
  if (others.length <= 5) return { text: `You may see these workflows and use: ${title}.`, title };
  return { text: `You may see these workflows and use ${others.length} operations on them.`, title };
}
