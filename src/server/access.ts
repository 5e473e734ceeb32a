/**
 * Who may do what on this owner's server, kept current.
 *
 * Holds the site's site_authorization, the owner's user_authorization and the hub's latest group
 * membership, and answers `permitted(identity)` through the authz Authorizer. Whenever any of the
 * three changes it emits `change`, so that open subscriptions can be re-checked at once.
 *
 * Fail closed: when the site file or the owner's file cannot be read or is invalid, access users
 * get nothing until it is fixed (the owner keeps everything, as always), and the error is logged.
 */
import { EventEmitter } from 'node:events';
import {
  Authorizer,
  OPERATIONS,
  parseUserAuthorization,
  type Explanation,
  type Operation,
  type SiteAuthorization,
  type UserAuthorization,
} from '../authz/index.js';
import {
  loadOwnerAuthorization,
  ownerConfigPath,
  parseOwnerConfig,
  saveOwnerAuthorization,
} from '../config/index.js';
import type { SiteSettings } from '../identity/launch.js';
import type { Identity } from '../identity/proof.js';
import { workflowServerSettings } from './site-settings.js';
import type { Logger } from '../util/logger.js';
import { errorMessage } from '../util/values.js';

/** A user_authorization that leaves every access user nothing: used while the owner's file is broken. */
const DENY_EVERYONE = { '*': ['!ALL'] };

export interface AccessOptions {
  owner: string;
  dataDir: string;
  /** The site settings the hub gave at start; later ones arrive through setSite. */
  site: SiteSettings;
  logger: Logger;
}

export interface Subject {
  user: string;
  groups: readonly string[];
}

export class AccessControl extends EventEmitter<{ change: [] }> {
  readonly owner: string;
  private readonly authorizer = new Authorizer();
  private site: SiteAuthorization | undefined;
  /** Group → members, as last pushed by the hub; null until the first push. */
  private membership: Map<string, Set<string>> | null = null;
  private ownerGroupsFromProof: readonly string[] = [];

  constructor(private readonly options: AccessOptions) {
    super();
    this.owner = options.owner;
    this.setSite(options.site);
    this.reloadOwnerFile();
  }

  /** Applies site settings from the hub (at start, and whenever the site file changes). */
  setSite(settings: SiteSettings): void {
    try {
      this.site = workflowServerSettings(settings).site_authorization;
      this.authorizer.setSite(this.site);
      this.options.logger.info('site authorization applied');
    } catch (err) {
      this.site = undefined;
      this.authorizer.setSite(undefined);
      this.options.logger.error({ err: errorMessage(err) }, 'site configuration invalid: access users get nothing until it is fixed');
    }
    this.changed();
  }

  /** Re-reads the owner's file (it changed on disk). */
  reloadOwnerFile(): void {
    try {
      this.authorizer.setUserAuthorization(this.owner, loadOwnerAuthorization(this.options.dataDir, this.owner));
    } catch (err) {
      this.authorizer.setUserAuthorization(this.owner, parseUserAuthorization(DENY_EVERYONE));
      this.options.logger.error({ err: errorMessage(err) }, "owner's user_authorization invalid: access users get nothing until it is fixed");
    }
    this.changed();
  }

  /**
   * Validates a user_authorization exactly as `config check` validates the owner's file (same
   * messages, naming the file and key path); throws ConfigError when invalid.
   */
  validateUserAuthorization(raw: unknown): UserAuthorization {
    const file = ownerConfigPath(this.options.dataDir, this.owner);
    return parseOwnerConfig({ WorkflowServer: { user_authorization: raw } }, file) ?? parseUserAuthorization({});
  }

  /**
   * Validates, saves atomically and applies a new user_authorization. Throws (nothing written,
   * nothing changed) when it is invalid.
   */
  replaceUserAuthorization(raw: unknown): UserAuthorization {
    const ua = this.validateUserAuthorization(raw);
    saveOwnerAuthorization(this.options.dataDir, this.owner, ua);
    this.authorizer.setUserAuthorization(this.owner, ua);
    this.changed();
    return ua;
  }

  /** The hub's full current group membership. */
  setMembership(groups: Record<string, readonly string[]>): void {
    this.membership = new Map(Object.entries(groups).map(([g, users]) => [g, new Set(users)]));
    this.changed();
  }

  /**
   * Groups of a user as the hub last pushed them, or `fallback` before the first push. Used for
   * long-lived sockets (whose proof is as old as the socket) and for explanations.
   */
  groupsOf(user: string, fallback: readonly string[]): string[] {
    if (!this.membership) return [...fallback];
    return [...this.membership].filter(([, members]) => members.has(user)).map(([g]) => g).sort();
  }

  /** For a request: the proof was made just now by the hub, so its groups are the freshest. */
  permitted(identity: Identity): ReadonlySet<Operation> {
    if (identity.user === null) return new Set();
    this.ownerGroupsFromProof = identity.ownerGroups;
    return this.decide(identity.user, identity.groups, identity.ownerGroups);
  }

  /** For an open socket: its proof may be old, so groups come from the latest membership push. */
  permittedNow(identity: Identity): ReadonlySet<Operation> {
    if (identity.user === null) return new Set();
    return this.decide(identity.user, this.groupsOf(identity.user, identity.groups), this.ownerGroups());
  }

  // Authorizer.permitted fails closed itself: any error inside it yields the empty set.
  private decide(user: string, groups: readonly string[], ownerGroups: readonly string[]): ReadonlySet<Operation> {
    if (user === this.owner) return new Set(OPERATIONS);
    return this.authorizer.permitted({ owner: this.owner, ownerGroups: [...ownerGroups], user, userGroups: [...groups] });
  }

  explain(subject: Subject): Explanation {
    return this.authorizer.explain({
      owner: this.owner,
      ownerGroups: this.ownerGroups(),
      user: subject.user,
      userGroups: [...subject.groups],
    });
  }

  /** What a user would get under a draft user_authorization (for the sharing page's preview). */
  previewFor(draft: UserAuthorization, subject: Subject): ReadonlySet<Operation> {
    const scratch = new Authorizer(this.site);
    scratch.setUserAuthorization(this.owner, draft);
    return scratch.permitted({ owner: this.owner, ownerGroups: this.ownerGroups(), user: subject.user, userGroups: [...subject.groups] });
  }

  /** Every user the hub has told us about through group membership. */
  knownUsers(): string[] {
    const users = new Set<string>();
    for (const members of this.membership?.values() ?? []) for (const u of members) users.add(u);
    return [...users].sort();
  }

  private ownerGroups(): string[] {
    return this.groupsOf(this.owner, this.ownerGroupsFromProof);
  }

  private changed(): void {
    this.emit('change');
  }
}

