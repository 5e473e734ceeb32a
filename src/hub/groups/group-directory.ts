import { EventEmitter } from 'node:events';
import { GroupStore } from './group-store.js';
import { fixedMembers, mergeGroups, type GroupSource } from './merge-groups.js';
import { systemGroupsOf } from './system-groups.js';
import type { UserDirectory } from '../auth/user-directory.js';
import type { Logger } from '../../util/logger.js';

export interface GroupInfo {
  name: string;
  users: string[];
  /** Where the group is declared; a group only made of run-time members added to a config group is 'config'. */
  sources: GroupSource[];
  /** Members that come from the site configuration or the operating system and cannot be removed here. */
  fixedUsers: string[];
}

export class GroupError extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Every group the hub knows: `load_groups` ∪ run-time groups (hub.sqlite) ∪ the operating
 * system's groups of hub users when `system_groups` is on. Everything is answered from memory;
 * any change of membership emits 'change' with the full membership map.
 */
export class GroupDirectory extends EventEmitter {
  private readonly store: GroupStore;
  private systemOf = new Map<string, string[]>();
  private systemGeneration = 0;
  private groups = new Map<string, GroupInfo>();
  private byUser = new Map<string, string[]>();

  constructor(
    store: GroupStore,
    private readonly configGroups: Record<string, { users: readonly string[] }>,
    private readonly systemGroups: boolean,
    private readonly users: UserDirectory,
    private readonly logger: Logger,
  ) {
    super();
    this.store = store;
    this.rebuild(false);
  }

  /** Re-reads the OS groups of every hub user (when enabled), then rebuilds. */
  async refreshSystemGroups(): Promise<void> {
    if (!this.systemGroups) return;
    // Account changes can start a refresh while one is running: only the latest one applies.
    const generation = ++this.systemGeneration;
    const next = new Map<string, string[]>();
    for (const user of this.users.list()) next.set(user, await systemGroupsOf(user));
    if (generation !== this.systemGeneration) return;
    this.systemOf = next;
    this.rebuild(true);
  }

  private rebuild(announce: boolean): void {
    const merged = mergeGroups({ config: this.configGroups, stored: this.store.load(), system: this.systemOf });
    const groups = new Map<string, GroupInfo>();
    const byUser = new Map<string, string[]>();
    for (const name of [...merged.keys()].sort()) {
      const group = merged.get(name)!;
      const info: GroupInfo = {
        name,
        users: [...group.members.keys()].sort(),
        sources: [...group.sources].sort(),
        fixedUsers: fixedMembers(group).sort(),
      };
      groups.set(name, info);
      for (const u of info.users) {
        let list = byUser.get(u);
        if (!list) byUser.set(u, (list = []));
        list.push(name);
      }
    }
    const before = JSON.stringify(this.membership());
    this.groups = groups;
    this.byUser = byUser;
    // Every announcement is pushed to every running server: skip the ones that change nothing.
    if (!announce) return;
    const membership = this.membership();
    if (JSON.stringify(membership) !== before) this.emit('change', membership);
  }

  groupsOf(user: string): string[] {
    return this.byUser.get(user) ?? [];
  }

  get(name: string): GroupInfo | undefined {
    return this.groups.get(name);
  }

  list(): GroupInfo[] {
    return [...this.groups.values()];
  }

  /** `{group: [users]}` for every group: what running workflow servers are told. */
  membership(): Record<string, string[]> {
    // fromEntries defines own properties: a group named `__proto__` or `constructor` stays a key.
    return Object.fromEntries([...this.groups.values()].map((g) => [g.name, [...g.users]]));
  }

  private checkUsers(users: readonly string[]): void {
    const unknown = users.filter((u) => !this.users.exists(u));
    if (unknown.length > 0) throw new GroupError(400, `no such user: ${unknown.join(', ')}`);
  }

  /** Creates every group or, when any exists already or names an unknown user, none. */
  create(groups: readonly { name: string; users: readonly string[] }[]): GroupInfo[] {
    const names = groups.map((g) => g.name);
    const repeated = names.filter((name, i) => names.indexOf(name) !== i);
    if (repeated.length > 0) throw new GroupError(400, `group named more than once: ${[...new Set(repeated)].join(', ')}`);
    const existing = names.filter((name) => this.groups.has(name));
    if (existing.length > 0) throw new GroupError(409, existing.length === 1 ? `group ${existing[0]} already exists` : `groups ${existing.join(', ')} already exist`);
    this.checkUsers([...new Set(groups.flatMap((g) => g.users))]);
    this.store.create(groups);
    for (const { name, users } of groups) this.logger.info({ group: name, users }, 'group created');
    this.rebuild(true);
    return names.map((name) => this.groups.get(name)!);
  }

  delete(name: string): void {
    const group = this.groups.get(name);
    if (!group) throw new GroupError(404, `no such group: ${name}`);
    if (!group.sources.includes('hub') || group.sources.length > 1) {
      throw new GroupError(400, `group ${name} comes from the ${group.sources.filter((s) => s !== 'hub').join(' and ')} and cannot be deleted here`);
    }
    this.store.delete(name);
    this.logger.info({ group: name }, 'group deleted');
    this.rebuild(true);
  }

  addMembers(name: string, users: readonly string[]): GroupInfo {
    if (!this.groups.has(name)) throw new GroupError(404, `no such group: ${name}`);
    this.checkUsers(users);
    this.store.addMembers(name, users);
    this.logger.info({ group: name, users }, 'group members added');
    this.rebuild(true);
    return this.groups.get(name)!;
  }

  removeMembers(name: string, users: readonly string[]): GroupInfo {
    const group = this.groups.get(name);
    if (!group) throw new GroupError(404, `no such group: ${name}`);
    // As JupyterHub, a name that is no user is refused; a member whose account has gone may still be removed.
    const unknown = users.filter((u) => !this.users.exists(u) && !group.users.includes(u));
    if (unknown.length > 0) throw new GroupError(400, `no such user: ${unknown.join(', ')}`);
    const fixed = users.filter((u) => group.fixedUsers.includes(u));
    if (fixed.length > 0) {
      throw new GroupError(400, `${fixed.join(', ')} belong to ${name} through the site configuration or the operating system; change them there`);
    }
    this.store.removeMembers(name, users);
    this.logger.info({ group: name, users }, 'group members removed');
    this.rebuild(true);
    return this.groups.get(name)!;
  }
}
