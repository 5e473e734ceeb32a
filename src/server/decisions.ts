/**
 * The one place where an authorization decision is made for a request and logged: who, which
 * operation, allowed or refused, and why in one line.
 */
import type { Operation } from '../authz/index.js';
import type { Identity } from '../identity/proof.js';
import type { Logger } from '../util/logger.js';
import type { AccessControl } from './access.js';

export interface Decision {
  allowed: boolean;
  /** The first operation refused, when any. */
  refused?: Operation;
  permitted: ReadonlySet<Operation>;
}

/** A scoped token's ceiling (see Identity.ceiling) narrows what the user is permitted. */
function withinCeiling(permitted: ReadonlySet<Operation>, identity: Identity): ReadonlySet<Operation> {
  const ceiling = identity.ceiling;
  return ceiling === undefined ? permitted : new Set([...permitted].filter((op) => ceiling.includes(op)));
}

export class DecisionMaker {
  constructor(
    private readonly access: AccessControl,
    private readonly logger: Logger,
  ) {}

  /** For a request, whose proof was just made: allowed only if every operation is permitted. */
  check(identity: Identity, operations: readonly Operation[], what: string): Decision {
    return this.decide(identity, operations, what, () => this.access.permitted(identity));
  }

  /**
   * The same for an open socket, whose proof is as old as the socket: groups come from the latest
   * membership, as in the revocation recheck, so a subscribe never gets more than the socket keeps.
   */
  checkSocket(identity: Identity, operations: readonly Operation[], what: string): Decision {
    return this.decide(identity, operations, what, () => this.access.permittedNow(identity));
  }

  /** Any error denies. */
  private decide(
    identity: Identity,
    operations: readonly Operation[],
    what: string,
    permittedOf: () => ReadonlySet<Operation>,
  ): Decision {
    let permitted: ReadonlySet<Operation>;
    try {
      permitted = withinCeiling(permittedOf(), identity);
    } catch {
      permitted = new Set();
    }
    const refused = operations.find((op) => !permitted.has(op));
    const allowed = operations.length > 0 && refused === undefined;
    const why = identity.user === this.access.owner
      ? 'owner of this server'
      : allowed
        ? `permitted by the owner's user_authorization within the site limits (${operations.join(', ')})`
        : refused
          ? `"${refused}" is not among this user's permitted operations [${[...permitted].join(', ') || 'none'}]`
          : 'no operation named';
    this.logger.info(
      { user: identity.user, via: identity.via, operations, allowed, what },
      `${allowed ? 'allowed' : 'refused'}: ${identity.user} ${operations.join('+') || '-'} on ${what}: ${why}`,
    );
    return { allowed, permitted, ...(refused ? { refused } : {}) };
  }

  /** Owner-only parts (sharing page, /api/authorization): no configuration grants them. */
  checkOwner(identity: Identity, what: string): boolean {
    const allowed = identity.user === this.access.owner && identity.ceiling === undefined;
    this.logger.info(
      { user: identity.user, via: identity.via, operations: ['owner'], allowed, what },
      `${allowed ? 'allowed' : 'refused'}: ${identity.user} owner-only ${what}: ${allowed ? 'owner of this server' : 'only the owner may use this'}`,
    );
    return allowed;
  }
}
