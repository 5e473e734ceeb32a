import type { HubDatabase } from '../db.js';

/** Groups created at run time and members added at run time, kept in hub.sqlite. */
export class GroupStore {
  private readonly stmts;

  constructor(private readonly db: HubDatabase) {
    this.stmts = {
      groups: db.prepare<[], { name: string }>('SELECT name FROM hub_groups ORDER BY name'),
      members: db.prepare<[], { group_name: string; user_name: string }>('SELECT group_name, user_name FROM hub_group_members'),
      create: db.prepare<[string, number]>('INSERT OR IGNORE INTO hub_groups (name, created_at) VALUES (?, ?)'),
      deleteGroup: db.prepare<[string]>('DELETE FROM hub_groups WHERE name = ?'),
      deleteMembers: db.prepare<[string]>('DELETE FROM hub_group_members WHERE group_name = ?'),
      add: db.prepare<[string, string]>('INSERT OR IGNORE INTO hub_group_members (group_name, user_name) VALUES (?, ?)'),
      remove: db.prepare<[string, string]>('DELETE FROM hub_group_members WHERE group_name = ? AND user_name = ?'),
    };
  }

  /** Every run-time group and every run-time membership (also of groups declared elsewhere). */
  load(): { groups: string[]; members: Map<string, Set<string>> } {
    const members = new Map<string, Set<string>>();
    for (const row of this.stmts.members.all()) {
      let set = members.get(row.group_name);
      if (!set) members.set(row.group_name, (set = new Set()));
      set.add(row.user_name);
    }
    return { groups: this.stmts.groups.all().map((r) => r.name), members };
  }

  /** Creates the groups with their members, all or none. */
  create(groups: readonly { name: string; users: readonly string[] }[]): void {
    this.db.transaction(() => {
      const now = Date.now();
      for (const { name, users } of groups) {
        this.stmts.create.run(name, now);
        for (const user of users) this.stmts.add.run(name, user);
      }
    })();
  }

  delete(name: string): void {
    this.db.transaction(() => {
      this.stmts.deleteGroup.run(name);
      this.stmts.deleteMembers.run(name);
    })();
  }

  addMembers(name: string, users: readonly string[]): void {
    this.db.transaction(() => {
      for (const user of users) this.stmts.add.run(name, user);
    })();
  }

  removeMembers(name: string, users: readonly string[]): void {
    this.db.transaction(() => {
      for (const user of users) this.stmts.remove.run(name, user);
    })();
  }
}
