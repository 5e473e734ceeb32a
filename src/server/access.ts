/**
 * Who may do what on this owner's server, kept current.
 *
 * Holds the site's site_authorization, the owner's user_authorization and workflow_authorization,
 * and the hub's latest group membership, and answers through the authz Authorizer, server-wide or
 * for one workflow. Whenever any of them changes it emits `change`, so that open subscriptions can
 * be re-checked at once.
 *
 * One source of groups: the membership the hub pushes (at start and on every change), never the
 * groups inside a request's proof. A socket's proof is as old as the socket, so sockets need the
 * pushed membership anyway; deciding requests from it too means a request and a socket of the
 * same user are always decided alike, and a revocation reaches both at the same moment. Until the
 * hub has told the server any membership, access users get nothing: an unknown group could carry
 * a negation.
 *
 * Fail closed: when the site file or the owner's file cannot be read or is invalid, access users
 * get nothing until it is fixed (the owner keeps everything, as always), and the error is logged.
 */
import { EventEmitter } from 'node:events';
import {
  Authorizer,
  OPERATIONS,
  parseUserAuthorization,
  WorkflowAuthorization,
  type Explanation,
  type Operation,
  type SiteAuthorization,
  type UserAuthorization,
} from '../authz/index.js';
import {
  loadOwnerSharing,
  ownerConfigPath,
  parseOwnerConfig,
  saveOwnerAuthorization,
  type OwnerSharing,
} from '../config/owner.js';
import { parseJsonText } from '../config/json.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { PermissionSummary } from '../graphql/viewer.js';
import type { SiteSettings } from '../identity/launch.js';
import { workflowServerSettings, type WorkflowServerSettings } from './site-settings.js';
import type { Logger } from '../util/logger.js';
import { errorMessage } from '../util/values.js';

/** A user_authorization that leaves every access user nothing: used while the owner's file is broken. */
const DENY_EVERYONE = { '*': ['!ALL'] };

const NOTHING: ReadonlySet<Operation> = new Set();
const GROUPS_CACHE_SIZE = 10_000;
const EVERYTHING: ReadonlySet<Operation> = new Set(OPERATIONS);

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


/** A change refused because the owner's file is broken and must be replaced first. */
export class OwnerFileUnusableError extends Error {
  override name = 'OwnerFileUnusableError';
}

/** Sharing with one workflow's section replaced, or removed when `section` is undefined. */
export function withWorkflowSection(sharing: OwnerSharing, workflow: string, section: UserAuthorization | undefined): OwnerSharing {
  const sections = new Map(sharing.workflow_authorization?.sections ?? []);
  if (section === undefined) sections.delete(workflow);
  else sections.set(workflow, section);
  const { workflow_authorization: _replaced, ...rest } = sharing;
  return sections.size === 0 ? rest : { ...rest, workflow_authorization: new WorkflowAuthorization(sections) };
}

export class AccessControl extends EventEmitter<{ change: [] }> {
  readonly owner: string;
  private readonly authorizer = new Authorizer();
  private site: SiteAuthorization | undefined;
  /** Whether the site's settings could not be used (the reason is logged, never shown to owners). */
  private siteBroken = false;
  /** Group → members, as last pushed by the hub; null until the first push. */
  private membership: Map<string, Set<string>> | null = null;
  private accounts: ReadonlySet<string> | undefined;
  /** User → their groups under the current membership: decisions on every delta ask again and again. */
  private readonly groupsByUser = new Map<string, string[]>();
  private sharing: OwnerSharing = {};
  /** Why the owner's file cannot be used, while it cannot (then `sharing` is the fail-closed stand-in). */
  private brokenFile: string | undefined;

  constructor(private readonly options: AccessOptions) {
    super();
    this.owner = options.owner;
    this.setSite(options.site);
    this.reloadOwnerFile();
  }

  /** Called with each valid settings push after the first (see followSettings). */
  private settingsListener: ((settings: WorkflowServerSettings) => void) | undefined;

  /** The rest of the server follows pushed settings (limits, job width, stall timeout) too. */
  followSettings(listener: (settings: WorkflowServerSettings) => void): void {
    this.settingsListener = listener;
  }

  /** Applies site settings from the hub (at start, and whenever the site file changes). */
  setSite(settings: SiteSettings): void {
    // Only parsing decides whether the site is broken: an error in what follows the other
    // settings (limits, job width) is logged, and neither denies everyone nor keeps rules out.
    let parsed: WorkflowServerSettings | undefined;
    try {
      parsed = workflowServerSettings(settings);
      this.site = parsed.site_authorization;
      this.authorizer.setSite(this.site);
      this.siteBroken = false;
      this.options.logger.info('site authorization applied');
    } catch (err) {
      parsed = undefined;
      this.site = undefined;
      this.siteBroken = true;
      this.authorizer.setSite(undefined);
      this.options.logger.error({ err: errorMessage(err) }, 'site configuration invalid: access users get nothing until it is fixed');
    }
    this.changed();
    if (parsed === undefined) return;
    try {
      this.settingsListener?.(parsed);
    } catch (err) {
      this.options.logger.error({ err: errorMessage(err) }, 'pushed site settings (limits, job width, stall timeout) not applied');
    }
  }

  /** Re-reads the owner's file (it changed on disk). */
  reloadOwnerFile(): void {
    // Only reading and parsing decide whether the file is broken; the state is set before the
    // listeners hear of it, and an error in a listener is not mistaken for a broken file.
    let sharing: OwnerSharing;
    try {
      sharing = loadOwnerSharing(this.options.dataDir, this.owner);
      this.brokenFile = undefined;
    } catch (err) {
      this.brokenFile = errorMessage(err);
      this.options.logger.error({ err: this.brokenFile }, "owner's sharing settings invalid: access users get nothing until it is fixed");
      sharing = { user_authorization: parseUserAuthorization(DENY_EVERYONE) };
    }
    this.apply(sharing);
  }

  /** Whether the site's settings are invalid (access users get nothing until an administrator fixes them). */
  get siteInvalid(): boolean {
    return this.siteBroken;
  }

  /** Why the owner's file cannot be used, or undefined while it can. */
  get ownerFileProblem(): string | undefined {
    return this.brokenFile;
  }

  /** Whether the hub has told this server who is in which group yet. */
  get membershipKnown(): boolean {
    return this.membership !== null;
  }

  /** Whether the site's limits for `user` (before the owner's sharing) leave them `read`. */
  siteLimitAllowsRead(user: string): boolean {
    return this.explain({ user, groups: this.groupsOf(user) }).limits.operations.includes('read');
  }

  /** The owner's sharing as now applied. */
  get currentSharing(): OwnerSharing {
    return this.sharing;
  }

  /**
   * Validates a user_authorization exactly as `config check` validates the owner's file (same
   * messages, naming the file and key path); throws ConfigError when invalid.
   */
  validateUserAuthorization(raw: unknown): UserAuthorization {
    return this.validate({ user_authorization: raw }).user_authorization ?? parseUserAuthorization({});
  }

  /** The same for one workflow's section of workflow_authorization (its name is checked too). */
  validateWorkflowSection(workflow: string, raw: unknown): UserAuthorization {
    const parsed = this.validate({ workflow_authorization: { [workflow]: raw } }).workflow_authorization?.sectionFor(workflow);
    return parsed ?? parseUserAuthorization({});
  }

  private validate(section: Record<string, unknown>): OwnerSharing {
    return parseOwnerConfig({ WorkflowServer: section }, ownerConfigPath(this.options.dataDir, this.owner));
  }

  /**
   * Validates, saves atomically and applies a new user_authorization, keeping the workflow
   * sections. Throws (nothing written, nothing changed) when it is invalid.
   */
  replaceUserAuthorization(raw: unknown): UserAuthorization {
    const ua = this.validateUserAuthorization(raw);
    // Over a broken file this replaces it whole: its sections could not be read, so none are kept.
    this.save(this.brokenFile === undefined ? { ...this.sharing, user_authorization: ua } : { user_authorization: ua });
    return ua;
  }

  /**
   * Replaces the whole owner file with `text` as the owner wrote it (fixing an invalid file on the
   * sharing page): validated exactly as the file is read, then written as the owner wrote it
   * (atomically, readable by the owner alone) and applied.
   */
  replaceOwnerFile(text: string): OwnerSharing {
    const file = ownerConfigPath(this.options.dataDir, this.owner);
    const sharing = parseOwnerConfig(parseJsonText(text, file), file);
    writeFileAtomic(file, text, 0o600);
    this.brokenFile = undefined;
    this.apply(sharing);
    return sharing;
  }

  /** Replaces (or, with undefined, removes) one workflow's section, saved and applied as above. */
  replaceWorkflowSection(workflow: string, raw: unknown): UserAuthorization | undefined {
    if (this.brokenFile !== undefined) {
      // Saving beside a stand-in would write the stand-in to disk as if the owner had meant it.
      throw new OwnerFileUnusableError(`the owner file cannot be used as it is (${this.brokenFile}); save the server-wide sharing first, which replaces it`);
    }
    const section = raw === undefined ? undefined : this.validateWorkflowSection(workflow, raw);
    this.save(withWorkflowSection(this.sharing, workflow, section));
    return section;
  }

  /** Writes a whole valid file (so it is no longer broken), then applies it. */
  private save(sharing: OwnerSharing): void {
    saveOwnerAuthorization(this.options.dataDir, this.owner, sharing.user_authorization, sharing.workflow_authorization);
    this.brokenFile = undefined;
    this.apply(sharing);
  }

  private apply(sharing: OwnerSharing): void {
    this.sharing = sharing;
    this.authorizer.setUserAuthorization(this.owner, sharing.user_authorization, sharing.workflow_authorization);
    this.changed();
  }

  /**
   * The hub's full current group membership, and its account names when it sends them (they
   * only feed warnings about names nobody has; no decision reads them).
   */
  setMembership(groups: Record<string, readonly string[]>, accounts?: readonly string[]): void {
    this.membership = new Map(Object.entries(groups).map(([g, users]) => [g, new Set(users)]));
    if (accounts !== undefined) this.accounts = new Set(accounts);
    this.groupsByUser.clear();
    this.authorizer.clearCache();
    this.changed();
  }

  /** A user's groups as the hub last pushed them (none before the first push). */
  groupsOf(user: string): string[] {
    if (!this.membership) return [];
    let groups = this.groupsByUser.get(user);
    if (groups === undefined) {
      groups = [...this.membership].filter(([, members]) => members.has(user)).map(([g]) => g).sort();
      // Bounded like the authorizer's cache: names come from requests, so they must not grow it for ever.
      if (this.groupsByUser.size >= GROUPS_CACHE_SIZE) this.groupsByUser.clear();
      this.groupsByUser.set(user, groups);
    }
    return [...groups];
  }

  /** What a user may do, server-wide or (with `workflow`) on that workflow. Any doubt is nothing. */
  permitted(user: string | null, workflow?: string): ReadonlySet<Operation> {
    if (user === null) return NOTHING;
    if (user === this.owner) return EVERYTHING;
    // Before the hub has said who is in which group, a decision could miss a negation.
    if (this.membership === null) return NOTHING;
    // Authorizer.permitted fails closed itself: any error inside it yields the empty set.
    return this.authorizer.permitted(this.request(user), workflow);
  }

  /** Whether the user may read `workflow`. */
  mayRead(user: string | null, workflow: string): boolean {
    return this.permitted(user, workflow).has('read');
  }

  /**
   * Whether the user may open the server at all (pages, me, userprofile, a socket): `read`
   * server-wide or on at least one workflow named in workflow_authorization.
   */
  mayOpen(user: string | null): boolean {
    if (this.permitted(user).has('read')) return true;
    return this.authorizer.workflowsNamed(this.owner).some((w) => this.mayRead(user, w));
  }

  /**
   * Server-wide permissions and, for each workflow named in workflow_authorization that the user
   * may read, its permissions where they differ. Workflows the user may not read are left out, so
   * their names are never disclosed.
   */
  summary(user: string | null): PermissionSummary {
    const server = this.permitted(user);
    const workflows = new Map<string, ReadonlySet<Operation>>();
    for (const workflow of this.authorizer.workflowsNamed(this.owner)) {
      const here = this.permitted(user, workflow);
      if (!here.has('read')) continue;
      if (here.size !== server.size || [...here].some((op) => !server.has(op))) workflows.set(workflow, here);
    }
    return { server, workflows };
  }

  /** Why `subject` gets what they get: under the sharing now applied, or under a draft. */
  explain(subject: Subject, workflow?: string, draft?: OwnerSharing): Explanation {
    const authorizer = draft === undefined ? this.authorizer : this.scratchAuthorizer(draft);
    return authorizer.explain(this.requestFor(subject), workflow);
  }

  /** What a user would get under draft sharing (for the sharing page's preview). */
  previewFor(draft: OwnerSharing, subject: Subject, workflow?: string): ReadonlySet<Operation> {
    return this.scratchAuthorizer(draft).permitted(this.requestFor(subject), workflow);
  }

  private scratchAuthorizer(draft: OwnerSharing): Authorizer {
    const scratch = new Authorizer(this.site);
    scratch.setUserAuthorization(this.owner, draft.user_authorization, draft.workflow_authorization);
    return scratch;
  }

  /** What the hub has told this server exists, for sharing warnings; undefined parts are not known yet. */
  directory(): { users?: ReadonlySet<string>; groups?: ReadonlySet<string> } {
    return {
      ...(this.accounts ? { users: this.accounts } : {}),
      ...(this.membership ? { groups: new Set(this.membership.keys()) } : {}),
    };
  }

  /** Every user the hub has told us about through group membership. */
  knownUsers(): string[] {
    const users = new Set<string>();
    for (const members of this.membership?.values() ?? []) for (const u of members) users.add(u);
    return [...users].sort();
  }

  private request(user: string) {
    return this.requestFor({ user, groups: this.groupsOf(user) });
  }

  private requestFor(subject: Subject) {
    return { owner: this.owner, ownerGroups: this.groupsOf(this.owner), user: subject.user, userGroups: [...subject.groups] };
  }

  private changed(): void {
    this.emit('change');
  }
}
