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
 * with no key built per call. Bounded: the least recently used entry goes first.
 */
export class DecisionCache {
  readonly #byOwner = new Map<string, Map<string, Map<string | null, CachedDecision>>>();
  /** Every entry, least recently used first: a hit moves its entry to the back. */
  readonly #order = new Set<CachedDecision>();

  constructor(private readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`a decision cache holds at least 1 decision, got ${capacity}`);
  }

  get size(): number {
    return this.#order.size;
  }

  get(request: AuthzRequest, workflow: string | null): OperationSet | undefined {
    const entry = this.#byOwner.get(request.owner)?.get(request.user)?.get(workflow);
    if (entry === undefined || !sameGroups(entry.userGroups, request.userGroups) || !sameGroups(entry.ownerGroups, request.ownerGroups)) {
      return undefined;
    }
    this.#order.delete(entry);
    this.#order.add(entry);
    return entry.result;
  }

  /** Only for a request whose decision succeeded: its names and groups are known to be valid. */
  set(request: AuthzRequest, workflow: string | null, result: OperationSet): void {
    const { owner, user } = request;
    const previous = this.#byOwner.get(owner)?.get(user)?.get(workflow);
    if (previous !== undefined) this.#forget(previous);
    if (this.#order.size >= this.capacity) this.#forget(this.#order.values().next().value!);
    const entry: CachedDecision = {
      owner,
      user,
      workflow,
      ownerGroups: [...request.ownerGroups],
      userGroups: [...request.userGroups],
      result,
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

  #forget(entry: CachedDecision): void {
    this.#order.delete(entry);
    // Every entry in #order is the one #byOwner holds at its place: set() forgets the one it replaces.
    const users = this.#byOwner.get(entry.owner)!;
    const workflows = users.get(entry.user)!;
    workflows.delete(entry.workflow);
    if (workflows.size > 0) return;
    users.delete(entry.user);
    if (users.size === 0) this.#byOwner.delete(entry.owner);
  }
}
