import { GROUP_OPERATIONS, OPERATIONS, type Operation, type PermissionGroup } from './operations.js';

/**
 * Sets of operations as bit masks (one bit per operation, in OPERATIONS order). There are
 * fewer than 31 operations, so a mask is a small integer: unions, negations and intersections
 * are single machine operations, which keeps cached and uncached decisions cheap.
 */
export type Mask = number;

const bitOf: ReadonlyMap<Operation, number> = new Map(OPERATIONS.map((op, i) => [op, 1 << i]));

export function maskOf(ops: Iterable<Operation>): Mask {
  let mask = 0;
  for (const op of ops) mask |= bitOf.get(op) ?? 0;
  return mask;
}

export const FULL_MASK: Mask = maskOf(OPERATIONS);

export const GROUP_MASKS: Readonly<Record<PermissionGroup, Mask>> = Object.freeze({
  READ: maskOf(GROUP_OPERATIONS.READ),
  CONTROL: maskOf(GROUP_OPERATIONS.CONTROL),
  ALL: maskOf(GROUP_OPERATIONS.ALL),
});

export function operationsOf(mask: Mask): Operation[] {
  return OPERATIONS.filter((_op, i) => (mask & (1 << i)) !== 0);
}

/**
 * An immutable set of operations. Decisions are shared through the cache, so the set handed
 * out must not be changeable by whoever receives it; iteration is in sorted order.
 */
export class OperationSet implements ReadonlySet<Operation> {
  readonly #mask: Mask;
  // A private Set that never escapes: iteration delegates to it, mutation is impossible.
  readonly #ops: Set<Operation>;

  private constructor(mask: Mask) {
    this.#mask = mask;
    this.#ops = new Set(operationsOf(mask));
  }

  static #interned = new Map<Mask, OperationSet>();
  // Real sites produce a handful of distinct results; the bound only guards memory against
  // pathological configurations.
  static readonly #internLimit = 4096;

  /** Equal results share one instance, so cached decisions cost little memory. */
  static of(anyMask: Mask): OperationSet {
    const mask = anyMask & FULL_MASK;
    const known = OperationSet.#interned.get(mask);
    if (known) return known;
    const set = new OperationSet(mask);
    if (OperationSet.#interned.size < OperationSet.#internLimit) OperationSet.#interned.set(mask, set);
    return set;
  }

  get size(): number {
    return this.#ops.size;
  }

  has(op: Operation): boolean {
    const bit = bitOf.get(op);
    return bit !== undefined && (this.#mask & bit) !== 0;
  }

  forEach(callback: (value: Operation, key: Operation, set: ReadonlySet<Operation>) => void, thisArg?: unknown): void {
    for (const op of this.#ops) callback.call(thisArg, op, op, this);
  }

  entries(): SetIterator<[Operation, Operation]> {
    return this.#ops.entries();
  }

  keys(): SetIterator<Operation> {
    return this.#ops.keys();
  }

  values(): SetIterator<Operation> {
    return this.#ops.values();
  }

  [Symbol.iterator](): SetIterator<Operation> {
    return this.#ops.values();
  }

  toJSON(): Operation[] {
    return [...this.#ops];
  }
}
