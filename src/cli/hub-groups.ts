import type { SiteConfig } from '../config/index.js';
import { readRunTimeGroups } from '../hub/groups/read-only-groups.js';
import { systemGroupsOf } from '../hub/groups/system-groups.js';

/** Where a group membership comes from, as a person reads it. */
export type GroupOrigin = 'site file' | 'hub database' | 'operating system' | 'command line';

/** group → where the user's membership of it comes from. */
export type GroupOrigins = Record<string, GroupOrigin[]>;

/**
 * The groups the hub would give each user, with the same sources it uses (GroupDirectory): the
 * site file's load_groups, the hub database's run-time memberships, and the operating system's
 * groups when WorkflowServer.system_groups is on; plus groups named on the command line.
 */
export async function groupOriginsOf(config: SiteConfig, users: readonly string[], extra: ReadonlyMap<string, readonly string[]>): Promise<Map<string, GroupOrigins>> {
  const hubMembers = readRunTimeGroups(config.JupyterHub.data_dir).members;
  const out = new Map<string, GroupOrigins>();
  for (const user of users) {
    const origins: GroupOrigins = {};
    const add = (group: string, origin: GroupOrigin) => {
      const list = (origins[group] ??= []);
      if (!list.includes(origin)) list.push(origin);
    };
    for (const [name, group] of Object.entries(config.JupyterHub.load_groups)) if (group.users.includes(user)) add(name, 'site file');
    for (const [name, members] of hubMembers) if (members.has(user)) add(name, 'hub database');
    if (config.WorkflowServer.system_groups) for (const name of await systemGroupsOf(user)) add(name, 'operating system');
    for (const name of extra.get(user) ?? []) add(name, 'command line');
    out.set(user, Object.fromEntries(Object.keys(origins).sort().map((g) => [g, origins[g]!])));
  }
  return out;
}

/** `groupB (site file), ops (hub database, operating system)`, or `(none)`. */
export function formatGroupOrigins(origins: GroupOrigins): string {
  const parts = Object.entries(origins).map(([group, from]) => `${group} (${from.join(', ')})`);
  return parts.length === 0 ? '(none)' : parts.join(', ');
}
