// The visitor's permissions on this server, kept current without polling: the server pushes them
// (server-wide, and per workflow where they differ) over the page's subscription connection when
// it subscribes (and on every reconnect) and whenever sharing, the site limits or group membership
// change them.
import { opName } from './controls.js';
import { data, graphql, subscribe } from './gql.js';

const FIELDS = 'permissions workflowPermissions { workflow permissions }';

/** The permissions on `workflow` (server-wide when it has no entry of its own, or when null). */
export function permissionsFor(view, workflow) {
  const own = workflow === null ? undefined : view.workflowPermissions?.find((w) => w.workflow === workflow);
  return own ? own.permissions : view.permissions;
}

/**
 * Starts from the list the page was rendered with; `onChange(permissions, view)` gets the new Set
 * of permitted operations (GraphQL names) on `workflow` (server-wide when null) each time it
 * differs, and the whole view ({permissions, workflowPermissions}).
 */
export function livePermissions(onChange, workflow = null) {
  let current = new Set(data.permissions ?? []);
  const take = (view) => {
    const names = permissionsFor(view, workflow);
    if (names.length === current.size && names.every((n) => current.has(n))) return;
    current = new Set(names);
    onChange(current, view);
  };
  subscribe(`subscription { permissions { ${FIELDS} } }`, {}, { onNext: ({ permissions }) => take(permissions) });
  return {
    get current() {
      return current;
    },
    /** Reads them now, e.g. after the server refused an operation the page thought was allowed. */
    async refresh() {
      try {
        take((await graphql(`{ me { ${FIELDS} } }`)).me);
      } catch {
        // Refused or unreachable: the subscription tells the page when access is gone.
      }
    },
  };
}

/**
 * For a visitor: what the permissions let them do here, as { text, title } (title: every name).
 * `workflowPermissions` (optional) lists the workflows whose permissions differ.
 */
export function describeAccess(permissions, workflowPermissions = []) {
  const others = [...permissions].filter((p) => p !== 'read').map(opName).sort();
  const title = others.join(', ');
  const differ = workflowPermissions.map((w) => w.workflow);
  const where = differ.length === 0 ? '' : ` On ${differ.join(', ')} you have other permissions (open it to see them).`;
  if (!permissions.has('read')) return { text: `You may see only the workflows shared with you.${where}`, title };
  if (others.length === 0) return { text: `You may see these workflows, not act on them.${where}`, title };
  if (others.length <= 5) return { text: `You may see these workflows and use: ${title}.${where}`, title };
  return { text: `You may see these workflows and use ${others.length} operations on them.${where}`, title };
}
