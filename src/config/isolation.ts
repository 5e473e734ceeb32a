import type { IsolationMode, SiteConfig } from './site.js';

/** Which isolation a hub with this configuration runs, and why. */
export interface IsolationChoice {
  mode: IsolationMode;
  /** Set when the mode came from `run_as_owner`, which should be migrated. */
  migrate?: string;
  /** Set when this mode cannot run for a hub of this uid: start is refused with this message. */
  refused?: string;
}

/** Said wherever the shared mode shows (hub start, admin page, config check). */
export const SHARED_MODE_WARNING =
  'isolation is "shared": every workflow server and task runs as the hub\'s own account, so every signed-in user ' +
  "can read the hub's secrets (its database, cookie secret, htpasswd file and site file) through a task of their own " +
  'and act as anyone, admins included. Run safely: start the hub as root with JupyterHub.spawner.isolation "dynamic" ' +
  '(the default as root) or "system"; see docs/security.md.';

/**
 * The isolation of a hub running as `uid`: the configured one, else `dynamic` as root and
 * `shared` otherwise. `dynamic` and `system` need root (they change uid and chown), and
 * `shared` as root is refused: it would hand the hub's secrets, root's, to every user.
 */
export function chooseIsolation(spawner: SiteConfig['JupyterHub']['spawner'], uid: number | undefined): IsolationChoice {
  const root = uid === 0;
  const aliased = spawner.run_as_owner && spawner.isolation === undefined;
  const mode: IsolationMode = spawner.isolation ?? (spawner.run_as_owner ? 'system' : root ? 'dynamic' : 'shared');
  const choice: IsolationChoice = { mode };
  if (aliased) {
    choice.migrate =
      'JupyterHub.spawner.run_as_owner is the old spelling of JupyterHub.spawner.isolation "system"; ' +
      'replace "run_as_owner": true with "isolation": "system"';
  }
  if (mode === 'shared' && root) {
    choice.refused =
      'JupyterHub.spawner.isolation is "shared", but the hub runs as root: every workflow server and task would run as root. ' +
      'Use isolation "dynamic" (the default as root) or "system", or run the hub as an unprivileged account';
  } else if (mode !== 'shared' && !root) {
    choice.refused = needsRootMessage(mode, uid);
  }
  return choice;
}

export function needsRootMessage(mode: IsolationMode, uid: number | undefined): string {
  return (
    `JupyterHub.spawner.isolation is "${mode}", but the hub runs as uid ${uid ?? 'unknown'}, not root; ` +
    'start the hub as root, or set isolation to "shared" (every signed-in user can then read the hub\'s secrets)'
  );
}
