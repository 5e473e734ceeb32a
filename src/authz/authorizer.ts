import type { SiteAuthorization, UserAuthorization } from './config.js';
import { decideMasks, type AuthzRequest } from './decide.js';
import { explainDecision, type Explanation } from './explain.js';
import { OperationSet } from './mask.js';
import type { Operation } from './operations.js';

export interface AuthorizerOptions {
  /** Most decisions kept; the least recently used is dropped first. */
  cacheSize?: number;
}

const DEFAULT_CACHE_SIZE = 50_000;

function cacheKey(request: AuthzRequest): string {
  // Group order carries no meaning, so it must not split the cache; JSON keeps names unambiguous.
  return JSON.stringify([
    request.owner,
    [...request.ownerGroups].sort(),
    request.user,
    [...request.userGroups].sort(),
  ]);
}

/**
 * The decisions of one process: the site's rules plus each owner's user_authorization, with
 * a bounded cache of results that is dropped whenever any input to a decision changes.
 */
export class Authorizer {
  #site: SiteAuthorization | undefined;
  readonly #owners = new Map<string, UserAuthorization>();
  readonly #cache = new Map<string, OperationSet>();
  readonly #cacheSize: number;

  constructor(site?: SiteAuthorization, options: AuthorizerOptions = {}) {
    this.#site = site;
    this.#cacheSize = Math.max(1, Math.floor(options.cacheSize ?? DEFAULT_CACHE_SIZE));
  }

  setSite(site?: SiteAuthorization): void {
    this.#site = site;
    this.clearCache();
  }

  setUserAuthorization(owner: string, ua?: UserAuthorization): void {
    if (ua === undefined) this.#owners.delete(owner);
    else this.#owners.set(owner, ua);
    this.clearCache();
  }

  /** Call on any change of group membership: cached decisions were made with the old groups. */
  clearCache(): void {
    this.#cache.clear();
  }

  /** Decisions currently cached. */
  get cachedDecisions(): number {
    return this.#cache.size;
  }

  permitted(request: AuthzRequest): ReadonlySet<Operation> {
    try {
      const key = cacheKey(request);
      const hit = this.#cache.get(key);
      if (hit !== undefined) {
        // Re-insert so that Map order is least-recently-used first.
        this.#cache.delete(key);
        this.#cache.set(key, hit);
        return hit;
      }
      const result = OperationSet.of(decideMasks(this.#site, this.#owners.get(request.owner), request).result);
      if (this.#cache.size >= this.#cacheSize) {
        const oldest = this.#cache.keys().next();
        if (!oldest.done) this.#cache.delete(oldest.value);
      }
      this.#cache.set(key, result);
      return result;
    } catch {
      return OperationSet.of(0);
    }
  }

  explain(request: AuthzRequest): Explanation {
    const owner = typeof request?.owner === 'string' ? this.#owners.get(request.owner) : undefined;
    return explainDecision(this.#site, owner, request);
  }
}
