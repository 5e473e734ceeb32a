/**
 * The one place where an authorization decision is made for a request or a socket and logged:
 * who, which operation on which workflows, allowed or refused, and why in one line. Routes, the
 * GraphQL handlers and the subscription server ask here and nowhere else.
 */
import type { Operation } from '../authz/index.js';
import type { Identity } from '../identity/proof.js';
import type { Logger } from '../util/logger.js';
import type { PermissionSummary, ViewerAccess } from '../graphql/viewer.js';
import type { AccessControl } from './access.js';
import { describeDenial, type Denial, type DenialReason } from './denial.js';

/** One operation a request would perform, on the workflows it names (none: server-wide). */
export interface Action {
  operation: Operation;
  workflows: readonly string[];
}

export type ActDecision =
  | { allowed: true }
  /** A named workflow the user may not read: answered exactly as a workflow that does not exist. */
  | { allowed: false; reason: 'unreadable'; workflow: string }
  | { allowed: false; reason: 'forbidden'; operation: Operation; workflow: string | null };

/** A scoped token's ceiling (see Identity.ceiling) narrows what the user is permitted. */
function withinCeiling(permitted: ReadonlySet<Operation>, identity: Identity): ReadonlySet<Operation> {
  const ceiling = identity.ceiling;
  return ceiling === undefined ? permitted : new Set([...permitted].filter((op) => ceiling.includes(op)));
}

function ceilingAllows(identity: Identity, operation: Operation): boolean {
  return identity.ceiling === undefined || identity.ceiling.includes(operation);
}

export class DecisionMaker {
  constructor(
    private readonly access: AccessControl,
    private readonly logger: Logger,
  ) {}

  /**
   * Whether the user may open the server at all (pages, me, userprofile, a subscription socket):
   * `read` server-wide or on some workflow named in workflow_authorization.
   */
  open(identity: Identity, what: string): boolean {
    const allowed = this.safely(() => this.mayOpen(identity));
    this.log(identity, ['read'], allowed, what, allowed ? this.why(identity, 'may read here') : 'no read, server-wide or on any workflow');
    return allowed;
  }

  /**
   * Which layer refused someone `open` refuses, checked outermost first, so the words name who
   * can change it. Only for wording: the decision itself is `open`'s.
   */
  denial(identity: Identity): Denial {
    return describeDenial(this.safely(() => this.refusingLayer(identity), 'owner-sharing' as DenialReason), this.access.owner);
  }

  private refusingLayer(identity: Identity): DenialReason {
    const { access } = this;
    if (!ceilingAllows(identity, 'read')) return 'token-scope';
    if (access.siteInvalid) return 'site-invalid';
    if (identity.user !== null && !access.membershipKnown) return 'groups-unknown';
    if (identity.user === null || !access.siteLimitAllowsRead(identity.user)) return 'site-limit';
    if (access.ownerFileProblem !== undefined) return 'owner-file-invalid';
    return 'owner-sharing';
  }

  /**
   * Every action on every workflow it names, all or nothing: a request acting on several
   * workflows is refused whole if any one is not permitted. An operation missing on a named
   * workflow is `forbidden`; with every operation permitted, a named workflow the user may not
   * read is `unreadable` (callers answer as for a workflow that does not exist).
   */
  act(identity: Identity, actions: readonly Action[], what: string): ActDecision {
    const decision = this.safely(() => this.decideActions(identity, actions), {
      allowed: false,
      reason: 'forbidden',
      operation: actions[0]?.operation ?? 'read',
      workflow: null,
    } as ActDecision);
    const operations = [...new Set(actions.map((a) => a.operation))];
    const workflows = [...new Set(actions.flatMap((a) => a.workflows))];
    const why = decision.allowed
      ? this.why(identity, `permitted on ${workflows.join(', ') || 'this server'}`)
      : decision.reason === 'unreadable'
        ? `may not read workflow ${decision.workflow}`
        : `"${decision.operation}" is not permitted${decision.workflow === null ? '' : ` on workflow ${decision.workflow}`}`;
    this.log(identity, operations, decision.allowed, `${what}${workflows.length ? ` [${workflows.join(', ')}]` : ''}`, why);
    return decision;
  }

  private decideActions(identity: Identity, actions: readonly Action[]): ActDecision {
    if (actions.length === 0) return { allowed: false, reason: 'forbidden', operation: 'read', workflow: null };
    // Operations first: what an operation needs is decided from names alone, so refusing it
    // discloses nothing of which workflows exist.
    for (const { operation, workflows } of actions) {
      if (workflows.length === 0 && !this.permitted(identity).has(operation)) {
        return { allowed: false, reason: 'forbidden', operation, workflow: null };
      }
      for (const workflow of workflows) {
        if (!this.permitted(identity, workflow).has(operation)) return { allowed: false, reason: 'forbidden', operation, workflow };
      }
    }
    // Acting on a workflow needs reading it too: one cannot act on what, for them, does not exist.
    for (const workflow of new Set(actions.flatMap((a) => a.workflows))) {
      if (!this.mayRead(identity, workflow)) return { allowed: false, reason: 'unreadable', workflow };
    }
    return { allowed: true };
  }

  /** The live view of one identity, for filtering lists, queries and deltas (not logged per item). */
  viewer(identity: Identity): ViewerAccess {
    const { access } = this;
    const user = identity.user;
    const none: PermissionSummary = { server: new Set<Operation>(), workflows: new Map() };
    return {
      groups: () => (user === null ? [] : this.safely(() => access.groupsOf(user), [] as string[])),
      mayOpen: () => this.safely(() => this.mayOpen(identity)),
      mayRead: (workflow) => this.safely(() => this.mayRead(identity, workflow)),
      permitted: (workflow) => this.safely(() => this.permitted(identity, workflow), new Set<Operation>()),
      summary: () => this.safely(() => this.summary(identity), none),
    };
  }

  // The access rules, narrowed by the identity's ceiling (a scoped token's custom:workflows:* scopes).
  private permitted(identity: Identity, workflow?: string): ReadonlySet<Operation> {
    return withinCeiling(this.access.permitted(identity.user, workflow), identity);
  }

  private mayRead(identity: Identity, workflow: string): boolean {
    return ceilingAllows(identity, 'read') && this.access.mayRead(identity.user, workflow);
  }

  private mayOpen(identity: Identity): boolean {
    return ceilingAllows(identity, 'read') && this.access.mayOpen(identity.user);
  }

  private summary(identity: Identity): PermissionSummary {
    const { server, workflows } = this.access.summary(identity.user);
    return {
      server: withinCeiling(server, identity),
      workflows: new Map([...workflows].map(([name, ops]) => [name, withinCeiling(ops, identity)])),
    };
  }

  /** Whether an open socket may stay open; logged only when it may not. */
  stillOpen(identity: Identity | undefined): boolean {
    const allowed = identity !== undefined && this.safely(() => this.mayOpen(identity));
    if (!allowed) {
      this.logger.info({ user: identity?.user ?? null, operations: ['read'], allowed }, `refused: ${identity?.user} lost read everywhere; closing subscription socket`);
    }
    return allowed;
  }

  /** Owner-only parts (sharing page, /api/authorization): no configuration grants them, and no scoped token reaches them. */
  checkOwner(identity: Identity, what: string): boolean {
    const allowed = identity.user === this.access.owner && identity.ceiling === undefined;
    this.logger.info(
      { user: identity.user, via: identity.via, operations: ['owner'], allowed, what },
      `${allowed ? 'allowed' : 'refused'}: ${identity.user} owner-only ${what}: ${allowed ? 'owner of this server' : 'only the owner may use this'}`,
    );
    return allowed;
  }

  private why(identity: Identity, text: string): string {
    return identity.user === this.access.owner ? 'owner of this server' : `${text}, by the owner's sharing within the site limits`;
  }

  private log(identity: Identity, operations: readonly string[], allowed: boolean, what: string, why: string): void {
    this.logger.info(
      { user: identity.user, via: identity.via, operations, allowed, what },
      `${allowed ? 'allowed' : 'refused'}: ${identity.user} ${operations.join('+') || '-'} on ${what}: ${why}`,
    );
  }

  /** Any error denies. */
  private safely(decide: () => boolean): boolean;
  private safely<T>(decide: () => T, denied: T): T;
  private safely<T>(decide: () => T, denied?: T): T {
    try {
      return decide();
    } catch {
      return (denied ?? false) as T;
    }
  }
}
