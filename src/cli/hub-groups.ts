import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { SiteConfig } from '../config/index.js';
import { hubDatabaseFile } from '../hub/db.js';
import { GroupStore } from '../hub/groups/group-store.js';
import { systemGroupsOf } from '../hub/groups/system-groups.js';
import { errorMessage } from '../util/values.js';

/** Where a group membership comes from, as a person reads it. */
export type GroupOrigin = 'site file' | 'hub database' | 'operating system' | 'command line';

/** group → where the user's membership of it comes from. */
export type GroupOrigins = Record<string, GroupOrigin[]>;

/**
 * Run-time memberships (groups made or filled on the admin page or through the API), read from the
 * hub's database without writing to it. None when the hub has never run here.
 */
function hubDatabaseMembers(config: SiteConfig): Map<string, Set<string>> {
  const file = hubDatabaseFile(config.JupyterHub.data_dir);
  if (!existsSync(file)) return new Map();
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    return new GroupStore(db).load().members;
  } catch (err) {
    throw new Error(`cannot read the groups the hub manages at run time from ${file}: ${errorMessage(err)} (run this as the hub's user)`);
  } finally {
    db?.close();
  }
}

/**
 * The groups the hub would give each user, with the same sources it uses (GroupDirectory): the
 * site file's load_groups, the hub database's run-time memberships, and the operating system's
 * groups when WorkflowServer.system_groups is on; plus groups named on the command line.
 */
export async function groupOriginsOf(config: SiteConfig, users: readonly string[], extra: ReadonlyMap<string, readonly string[]>): Promise<Map<string, GroupOrigins>> {
  const hubMembers = hubDatabaseMembers(config);
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
