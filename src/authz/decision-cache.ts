import type { AuthzRequest } from './decide.js';
import type { OperationSet } from './mask.js';

/** A list of group names as a decision was made with it: as given, and as the set it stands for. */
interface GroupsSeen {
  readonly given: readonly string[];
  /** Sorted, without repeats: group order and repeats carry no meaning. */
  readonly canonical: readonly string[];
}

interface CachedDecision {
  readonly owner: string;
  readonly user: string;
  readonly workflow: string | null;
  readonly ownerGroups: GroupsSeen;
  readonly userGroups: GroupsSeen;
  readonly result: OperationSet;
  /** Set on every hit: eviction passes over a used entry once (second chance) before dropping it. */
  used: boolean;
}

function canonicalGroups(groups: readonly string[]): string[] {
  return [...new Set(groups)].sort();
}

function sameList(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function groupsSeen(groups: readonly string[]): GroupsSeen {
  return { given: [...groups], canonical: canonicalGroups(groups) };
}

/**
 * Whether `groups` is the same set of names a decision was made with. Callers usually pass the
 * same list in the same order each time, which is a plain element-by-element comparison; any
 * other order or repeats are compared as sets. Anything not a list of strings never matches.
 */
function sameGroups(seen: GroupsSeen, groups: unknown): boolean {
  if (!Array.isArray(groups)) return false;
  return sameList(seen.given, groups) || sameList(seen.canonical, canonicalGroups(groups as string[]));
}

/**
 * Decisions by owner, then user, then workflow (null: server-wide), each valid only for the exact
 * set of groups it was made with: a lookup is three map reads and a comparison of two short lists,
 * with no key built per call. Bounded: the oldest entry not used since it was last passed over goes
 * first (a clock approximation of least-recently-used, so that a hit costs one flag write).
 */
export class DecisionCache {
  readonly #byOwner = new Map<string, Map<string, Map<string | null, CachedDecision>>>();
  /** Every entry, oldest first. */
  readonly #order = new Set<CachedDecision>();

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.#order.size;
  }

  get(request: AuthzRequest, workflow: string | null): OperationSet | undefined {
    const entry = this.#byOwner.get(request.owner)?.get(request.user)?.get(workflow);
    if (entry === undefined || !sameGroups(entry.userGroups, request.userGroups) || !sameGroups(entry.ownerGroups, request.ownerGroups)) {
      return undefined;
    }
    entry.used = true;
    return entry.result;
  }

  /** Only for a request whose decision succeeded: its names and groups are known to be valid. */
  set(request: AuthzRequest, workflow: string | null, result: OperationSet): void {
    const { owner, user } = request;
    const previous = this.#byOwner.get(owner)?.get(user)?.get(workflow);
    if (previous !== undefined) this.#forget(previous);
    while (this.#order.size >= this.capacity) this.#evictOne();
    const entry: CachedDecision = {
      owner,
      user,
      workflow,
      ownerGroups: groupsSeen(request.ownerGroups),
      userGroups: groupsSeen(request.userGroups),
      result,
      used: false,
    };
    let users = this.#byOwner.get(owner);
    if (users === undefined) this.#byOwner.set(owner, (users = new Map()));
    let workflows = users.get(user);
    if (workflows === undefined) users.set(user, (workflows = new Map()));
    workflows.set(workflow, entry);
    this.#order.add(entry);
  }

  clear(): void {
    this.#byOwner.clear();
    this.#order.clear();
  }

  #evictOne(): void {
    for (const entry of this.#order) {
      if (entry.used) {
        // Moved to the back with its flag cleared: it goes if it is not used again before then.
        entry.used = false;
        this.#order.delete(entry);
        this.#order.add(entry);
        continue;
      }
      this.#forget(entry);
      return;
    }
  }

  #forget(entry: CachedDecision): void {
    this.#order.delete(entry);
    const users = this.#byOwner.get(entry.owner);
    const workflows = users?.get(entry.user);
    if (workflows?.get(entry.workflow) !== entry) return;
    workflows.delete(entry.workflow);
    if (workflows.size > 0) return;
    users!.delete(entry.user);
    if (users!.size === 0) this.#byOwner.delete(entry.owner);
  }
}
