import type { HubDatabase } from '../db.js';

/**
 * JupyterHub's group `properties`: a JSON object per group that the hub stores and never
 * interprets (an extension point for services). Kept in hub.sqlite, mirrored in memory.
 */
export class GroupProperties {
  private readonly byGroup = new Map<string, Record<string, unknown>>();
  private readonly save;
  private readonly forget;

  constructor(db: HubDatabase) {
    db.exec('CREATE TABLE IF NOT EXISTS hub_group_properties (name TEXT PRIMARY KEY, properties TEXT NOT NULL)');
    this.save = db.prepare<[string, string]>('INSERT INTO hub_group_properties (name, properties) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET properties = excluded.properties');
    this.forget = db.prepare<[string]>('DELETE FROM hub_group_properties WHERE name = ?');
    for (const row of db.prepare('SELECT name, properties FROM hub_group_properties').all() as { name: string; properties: string }[]) {
      this.byGroup.set(row.name, JSON.parse(row.properties) as Record<string, unknown>);
    }
  }

  get(group: string): Record<string, unknown> {
    return structuredClone(this.byGroup.get(group) ?? {});
  }

  /** Replaces the group's properties (JupyterHub's PUT semantics). */
  set(group: string, properties: Record<string, unknown>): void {
    this.save.run(group, JSON.stringify(properties));
    this.byGroup.set(group, structuredClone(properties));
  }

  /** A deleted group's properties go with it. */
  remove(group: string): void {
    this.forget.run(group);
    this.byGroup.delete(group);
  }
}
