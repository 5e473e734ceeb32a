/** Where a group, or one membership of it, comes from. */
export type GroupSource = 'config' | 'hub' | 'system';

/** The run-time groups and memberships kept in hub.sqlite (GroupStore.load). */
export interface StoredGroups {
  groups: readonly string[];
  members: ReadonlyMap<string, ReadonlySet<string>>;
}

export interface GroupInputs {
  /** The site file's `load_groups`. */
  config: Readonly<Record<string, { users: readonly string[] }>>;
  stored: StoredGroups;
  /** user → the operating system's groups of that user, when `system_groups` is on. */
  system?: ReadonlyMap<string, readonly string[]>;
}

export interface MergedGroup {
  /** Where the group is declared; a group only made of run-time members added to a config group is 'config'. */
  sources: Set<GroupSource>;
  /** member → where that membership comes from. */
  members: Map<string, Set<GroupSource>>;
}

/**
 * Every group the hub knows and its members, each with where it comes from: `load_groups` ∪
 * the hub database's groups and memberships ∪ the operating system's groups. The one merge the
 * hub (GroupDirectory) and the commands that must see what it sees (`authz explain`,
 * `config check`) all use. Maps throughout: a group named `constructor` is a group like any other.
 */
export function mergeGroups({ config, stored, system = new Map() }: GroupInputs): Map<string, MergedGroup> {
  const merged = new Map<string, MergedGroup>();
  const entry = (name: string): MergedGroup => {
    let group = merged.get(name);
    if (!group) merged.set(name, (group = { sources: new Set(), members: new Map() }));
    return group;
  };
  const join = (group: MergedGroup, user: string, source: GroupSource) => {
    let from = group.members.get(user);
    if (!from) group.members.set(user, (from = new Set()));
    from.add(source);
  };
  for (const [name, { users }] of Object.entries(config)) {
    const group = entry(name);
    group.sources.add('config');
    for (const user of users) join(group, user, 'config');
  }
  for (const name of stored.groups) entry(name).sources.add('hub');
  for (const [name, users] of stored.members) {
    const group = entry(name);
    if (group.sources.size === 0) group.sources.add('hub');
    for (const user of users) join(group, user, 'hub');
  }
  for (const [user, names] of system) {
    for (const name of names) {
      const group = entry(name);
      group.sources.add('system');
      join(group, user, 'system');
    }
  }
  return merged;
}

/** Members who belong through the site file or the operating system: not removable at run time. */
export function fixedMembers(group: MergedGroup): string[] {
  return [...group.members].filter(([, from]) => from.has('config') || from.has('system')).map(([user]) => user);
}
