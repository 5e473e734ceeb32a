import { execFile } from 'node:child_process';
import type { Database } from 'better-sqlite3';
import type { UidRange } from '../config/index.js';
import { livePids, readProcFile } from '../util/proc.js';

export class UidAllocationError extends Error {
  override name = 'UidAllocationError';
}

/** getent exits 2 when the key is not in the database. */
const GETENT_NOT_FOUND = 2;
const GETENT_TIMEOUT_MS = 10_000;

/** Whether the passwd or group database (NSS: files, LDAP, SSSD…) knows this number. */
export type NumberKnown = (database: 'passwd' | 'group', id: number) => Promise<boolean>;

/** Fails closed: a getent that cannot answer counts as "known", so that number is never handed out. */
export const getentKnows: NumberKnown = (database, id) =>
  new Promise((resolve) => {
    execFile('getent', [database, String(id)], { timeout: GETENT_TIMEOUT_MS }, (err) => {
      resolve(!err || (err as { code?: unknown }).code !== GETENT_NOT_FOUND);
    });
  });

/** Whether a live process runs as `uid` (real, effective, saved or filesystem uid). Another hub
 * on the same machine hands out numbers from the same default range that no passwd database
 * lists: a number its owners run as must not become one of ours, or each site's owner could
 * signal and read the other's processes and files. */
export function processRunsAs(uid: number): boolean {
  for (const pid of livePids()) {
    const status = readProcFile(pid, 'status');
    if (status === undefined) continue; // exited meanwhile
    const uids = /^Uid:\s+(.*)$/m.exec(status)?.[1]?.split(/\s+/).map(Number) ?? [];
    if (uids.includes(uid)) return true;
  }
  return false;
}

/** A number is in use when the passwd or group database knows it, or (for uids) a live process
 * runs as it. */
export const numberInUse: NumberKnown = async (database, id) => (database === 'passwd' && processRunsAs(id)) || (await getentKnows(database, id));

/**
 * The dedicated uid (and gid, the same number) of each owner under the `dynamic` isolation:
 * allocated once from the configured range and kept in the hub database, so an owner keeps the
 * uid that owns their files across hub restarts. A number the passwd or group database knows, or
 * that a live process runs as, is never handed out: that account's files, or that group's, would
 * become the owner's. Two hubs on one machine still need disjoint `dynamic_uids` ranges: an
 * owner of the other site whose server is stopped runs no process to be seen.
 */
export class DynamicUids {
  private readonly pending = new Map<string, Promise<number>>();

  constructor(
    private readonly db: Database,
    private readonly range: UidRange,
    private readonly known: NumberKnown = numberInUse,
  ) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS owner_uids (
        owner TEXT PRIMARY KEY,
        uid INTEGER NOT NULL UNIQUE,
        allocated_at INTEGER NOT NULL
      );
    `);
  }

  /** The owner's recorded uid, if they have one. */
  recorded(owner: string): number | undefined {
    const row = this.db.prepare('SELECT uid FROM owner_uids WHERE owner = ?').get(owner) as { uid: number } | undefined;
    return row?.uid;
  }

  /** The owner's uid, allocating one on their first start. */
  uidFor(owner: string): Promise<number> {
    const existing = this.recorded(owner);
    if (existing !== undefined) return Promise.resolve(existing);
    // Two starts of one owner at once must not take two numbers.
    let allocation = this.pending.get(owner);
    if (!allocation) {
      allocation = this.allocate(owner).finally(() => this.pending.delete(owner));
      this.pending.set(owner, allocation);
    }
    return allocation;
  }

  private async allocate(owner: string): Promise<number> {
    const taken = new Set((this.db.prepare('SELECT uid FROM owner_uids').all() as { uid: number }[]).map((r) => r.uid));
    for (let uid = this.range.first; uid <= this.range.last; uid++) {
      if (taken.has(uid)) continue;
      if ((await this.known('passwd', uid)) || (await this.known('group', uid))) continue;
      const claimed = this.claim(owner, uid);
      if (claimed !== undefined) return claimed;
      taken.add(uid);
    }
    throw new UidAllocationError(
      `no free uid left for "${owner}" in JupyterHub.spawner.dynamic_uids ${this.range.first}-${this.range.last} ` +
        `(${taken.size} given to owners, the rest known to the passwd or group database or in use by a process); widen the range`,
    );
  }

  /** Records `uid` for `owner` unless someone took it meanwhile; the owner's uid either way, or
   * undefined when the number went to another owner. */
  private claim(owner: string, uid: number): number | undefined {
    return this.db.transaction(() => {
      const mine = this.recorded(owner);
      if (mine !== undefined) return mine;
      const result = this.db
        .prepare('INSERT INTO owner_uids (owner, uid, allocated_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING')
        .run(owner, uid, Date.now());
      return result.changes === 1 ? uid : undefined;
    }).immediate();
  }
}
