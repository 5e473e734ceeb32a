import type { SiteAuthorization, UserAuthorization, WorkflowAuthorization } from './config.js';
import { decideMasks, type AuthzRequest, type WorkflowScope } from './decide.js';
import { DecisionCache } from './decision-cache.js';
import { explainDecision, type Explanation } from './explain.js';
import { OperationSet } from './mask.js';
import type { Operation } from './operations.js';

export interface AuthorizerOptions {
  /** Most decisions kept; roughly the least recently used is dropped first. */
  cacheSize?: number;
}

const DEFAULT_CACHE_SIZE = 50_000;

/** What one owner wrote: user_authorization and workflow_authorization. */
interface OwnerSections {
  ua: UserAuthorization | undefined;
  wa: WorkflowAuthorization | undefined;
}

/**
 * The decisions of one process: the site's rules plus each owner's user_authorization, with
 * a bounded cache of results that is dropped whenever any input to a decision changes.
 */
export class Authorizer {
  #site: SiteAuthorization | undefined;
  readonly #owners = new Map<string, OwnerSections>();
  readonly #cache: DecisionCache;

  constructor(site?: SiteAuthorization, options: AuthorizerOptions = {}) {
    this.#site = site;
    this.#cache = new DecisionCache(Math.max(1, Math.floor(options.cacheSize ?? DEFAULT_CACHE_SIZE)));
  }

  setSite(site?: SiteAuthorization): void {
    this.#site = site;
    this.clearCache();
  }

  setUserAuthorization(owner: string, ua?: UserAuthorization, wa?: WorkflowAuthorization): void {
    if (ua === undefined && wa === undefined) this.#owners.delete(owner);
    else this.#owners.set(owner, { ua, wa });
    this.clearCache();
  }

  /** The workflows the owner's workflow_authorization names, sorted. */
  workflowsNamed(owner: string): readonly string[] {
    return this.#owners.get(owner)?.wa?.workflows ?? [];
  }

  /** The scope of a decision on `workflow`: undefined (server-wide) when no workflow is asked about. */
  #scope(owner: string, workflow: string | undefined): WorkflowScope | undefined {
    if (workflow === undefined) return undefined;
    return { name: workflow, section: this.#owners.get(owner)?.wa?.sectionFor(workflow) };
  }

  /** Call on any change of group membership: cached decisions were made with the old groups. */
  clearCache(): void {
    this.#cache.clear();
  }

  /** Decisions currently cached. */
  get cachedDecisions(): number {
    return this.#cache.size;
  }

  /** Server-wide, or on one workflow when `workflow` is given. */
  permitted(request: AuthzRequest, workflow?: string): ReadonlySet<Operation> {
    try {
      const scope = this.#scope(request.owner, workflow);
      // A workflow without a section is decided by the server-wide rule alone: share its cache entry.
      const cachedAs = scope?.section === undefined ? null : scope.name;
      const hit = this.#cache.get(request, cachedAs);
      if (hit !== undefined) return hit;
      const owner = this.#owners.get(request.owner);
      const result = OperationSet.of(decideMasks(this.#site, owner?.ua, request, undefined, scope).result);
      this.#cache.set(request, cachedAs, result);
      return result;
    } catch {
      return OperationSet.of(0);
    }
  }

  explain(request: AuthzRequest, workflow?: string): Explanation {
    const owner = typeof request?.owner === 'string' ? request.owner : undefined;
    const sections = owner === undefined ? undefined : this.#owners.get(owner);
    return explainDecision(this.#site, sections?.ua, request, owner === undefined ? undefined : this.#scope(owner, workflow));
  }
}
