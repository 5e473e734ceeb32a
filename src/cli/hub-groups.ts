import type { SiteConfig } from '../config/index.js';
import { mergeGroups, type GroupSource } from '../hub/groups/merge-groups.js';
import { readRunTimeGroups } from '../hub/groups/read-only-groups.js';
import { systemGroupsOf } from '../hub/groups/system-groups.js';

/** Where a group membership comes from, as a person reads it. */
export type GroupOrigin = 'site file' | 'hub database' | 'operating system' | 'command line';

/** group → where the user's membership of it comes from, groups in name order. */
export type GroupOrigins = ReadonlyMap<string, readonly GroupOrigin[]>;

const ORIGIN_OF: Record<GroupSource, GroupOrigin> = { config: 'site file', hub: 'hub database', system: 'operating system' };

/**
 * The groups the hub would give each user, merged as the hub merges them (mergeGroups): the
 * site file's load_groups, the hub database's run-time memberships, and the operating system's
 * groups when WorkflowServer.system_groups is on; plus groups named on the command line.
 */
export async function groupOriginsOf(config: SiteConfig, users: readonly string[], extra: ReadonlyMap<string, readonly string[]>): Promise<Map<string, GroupOrigins>> {
  const system = new Map<string, string[]>();
  if (config.WorkflowServer.system_groups) for (const user of users) system.set(user, await systemGroupsOf(user));
  const merged = mergeGroups({ config: config.JupyterHub.load_groups, stored: readRunTimeGroups(config.JupyterHub.data_dir), system });
  const out = new Map<string, GroupOrigins>();
  for (const user of users) {
    const origins = new Map<string, GroupOrigin[]>();
    for (const [name, group] of merged) {
      const from = group.members.get(user);
      if (from) origins.set(name, [...from].map((source) => ORIGIN_OF[source]));
    }
    for (const name of extra.get(user) ?? []) {
      const list = origins.get(name) ?? [];
      if (!list.includes('command line')) origins.set(name, [...list, 'command line']);
    }
    out.set(user, new Map([...origins.keys()].sort().map((name) => [name, origins.get(name)!])));
  }
  return out;
}

/** `groupB (site file), ops (hub database, operating system)`, or `(none)`. */
export function formatGroupOrigins(origins: GroupOrigins): string {
  const parts = [...origins].map(([group, from]) => `${group} (${from.join(', ')})`);
  return parts.length === 0 ? '(none)' : parts.join(', ');
}
