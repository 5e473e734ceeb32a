import type { AuthzRequest } from './decide.js';
import type { OperationSet } from './mask.js';

interface CachedDecision {
  readonly owner: string;
  readonly user: string;
  readonly workflow: string | null;
  /** A copy of the groups the decision was made with, as given: order and repeats carry no meaning. */
  readonly ownerGroups: readonly string[];
  readonly userGroups: readonly string[];
  readonly result: OperationSet;
  /** Neighbours in the recency list (see DecisionCache). */
  older: CachedDecision | undefined;
  newer: CachedDecision | undefined;
}

function canonicalGroups(groups: readonly string[]): string[] {
  return [...new Set(groups)].sort();
}

function sameList(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Up to this many names, comparing sets name by name beats sorting copies. */
const SHORT_LIST = 16;

/**
 * Whether `groups` is the set of names a decision was made with (`seen`). Callers usually pass
 * the same list in the same order each time, which is compared as it is; any other order or
 * repeats are compared as sets, without allocating for short lists. Anything not a list of
 * strings never matches.
 */
function sameGroups(seen: readonly string[], groups: unknown): boolean {
  if (!Array.isArray(groups)) return false;
  if (sameList(seen, groups)) return true;
  if (groups.length > SHORT_LIST || seen.length > SHORT_LIST) return sameList(canonicalGroups(seen), canonicalGroups(groups as string[]));
  for (const name of groups) if (!seen.includes(name as string)) return false;
  for (const name of seen) if (!groups.includes(name)) return false;
  return true;
}

/**
 * Decisions by owner, then user, then workflow (null: server-wide), each valid only for the exact
 * set of groups it was made with: a lookup is three map reads and a comparison of two short lists,
 * with no key built per call. Bounded: the least recently used entry goes first. Recency is a
 * list threaded through the entries themselves: a hit relinks four pointers, where moving the
 * entry to the back of an ordered Set (a delete and an insert in a hash table) was a third of a
 * cached decision's time.
 */
export class DecisionCache {
  readonly #byOwner = new Map<string, Map<string, Map<string | null, CachedDecision>>>();
  #size = 0;
  /** The least recently used entry, and the most. */
  #oldest: CachedDecision | undefined;
  #newest: CachedDecision | undefined;

  constructor(private readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`a decision cache holds at least 1 decision, got ${capacity}`);
  }

  get size(): number {
    return this.#size;
  }

  get(request: AuthzRequest, workflow: string | null): OperationSet | undefined {
    const entry = this.#byOwner.get(request.owner)?.get(request.user)?.get(workflow);
    if (entry === undefined || !sameGroups(entry.userGroups, request.userGroups) || !sameGroups(entry.ownerGroups, request.ownerGroups)) {
      return undefined;
    }
    if (entry !== this.#newest) {
      this.#unlink(entry);
      this.#append(entry);
    }
    return entry.result;
  }

  /** Only for a request whose decision succeeded: its names and groups are known to be valid. */
  set(request: AuthzRequest, workflow: string | null, result: OperationSet): void {
    const { owner, user } = request;
    const previous = this.#byOwner.get(owner)?.get(user)?.get(workflow);
    if (previous !== undefined) this.#forget(previous);
    if (this.#size >= this.capacity) this.#forget(this.#oldest!);
    const entry: CachedDecision = {
      owner,
      user,
      workflow,
      ownerGroups: [...request.ownerGroups],
      userGroups: [...request.userGroups],
      result,
      older: undefined,
      newer: undefined,
    };
    let users = this.#byOwner.get(owner);
    if (users === undefined) this.#byOwner.set(owner, (users = new Map()));
    let workflows = users.get(user);
    if (workflows === undefined) users.set(user, (workflows = new Map()));
    workflows.set(workflow, entry);
    this.#append(entry);
    this.#size++;
  }

  clear(): void {
    this.#byOwner.clear();
    this.#oldest = this.#newest = undefined;
    this.#size = 0;
  }

  #append(entry: CachedDecision): void {
    entry.older = this.#newest;
    entry.newer = undefined;
    if (this.#newest) this.#newest.newer = entry;
    else this.#oldest = entry;
    this.#newest = entry;
  }

  #unlink(entry: CachedDecision): void {
    if (entry.older) entry.older.newer = entry.newer;
    else this.#oldest = entry.newer;
    if (entry.newer) entry.newer.older = entry.older;
    else this.#newest = entry.older;
  }

  #forget(entry: CachedDecision): void {
    this.#unlink(entry);
    this.#size--;
    // Every entry in the list is the one #byOwner holds at its place: set() forgets the one it replaces.
    const users = this.#byOwner.get(entry.owner)!;
    const workflows = users.get(entry.user)!;
    workflows.delete(entry.workflow);
    if (workflows.size > 0) return;
    users.delete(entry.user);
    if (users.size === 0) this.#byOwner.delete(entry.owner);
  }
}
