import { formatScope, KNOWN_SCOPES, parseScope, subscopesOf, type ParsedScope, type Scope, type ScopeFilterKind } from '../../config/scopes.js';

export interface RoleDefinition {
  name: string;
  scopes: readonly string[];
  users?: readonly string[];
  groups?: readonly string[];
  services?: readonly string[];
}

/** What a scope is about: one user's resources (their server included), one group, one service. */
export type ScopeTarget = { user: string } | { group: string } | { service: string };

/** A held scope with its filter resolved; no filter means every user, group and service. */
export interface Grant {
  scope: Scope;
  filter?: { kind: ScopeFilterKind; name: string };
}

/** Who holds scopes: an account or a configured service. */
export type Principal = { kind: 'user'; name: string } | { kind: 'service'; name: string };

/** What JupyterHub's `self` stands for on a user (each filtered to that user). */
const SELF_SCOPES: Scope[] = ['read:users', 'users:shares', 'read:shares', 'users:activity', 'servers', 'tokens', 'access:servers'];

/** Scopes that narrow what a token does inside workflow servers; not checked against the owner. */
export const WORKFLOW_SCOPES: readonly Scope[] = ['custom:workflows:all', 'custom:workflows:read', 'custom:workflows:control'];

export interface MembershipSource {
  exists(user: string): boolean;
  isAdmin(user: string): boolean;
  groupsOf(user: string): readonly string[];
}

export class RoleError extends Error {
  override name = 'RoleError';
}

function key(g: Grant): string {
  return formatScope(g);
}

/** The grant and its subscopes under the same filter (as JupyterHub's `_expand_scope`). */
function expand(grant: Grant, into: Map<string, Grant>): void {
  // A server filter does not reach user-model subscopes (read:servers › read:users:name).
  if (grant.filter?.kind === 'server' && grant.scope.startsWith('read:users')) return;
  into.set(key(grant), grant);
  for (const sub of subscopesOf(grant.scope)) expand({ ...grant, scope: sub }, into);
}

/**
 * A parsed scope given to `holder`: bare filters become the holder's, `self` its self scopes.
 * Returns nothing for what does not apply to the holder (a service's `!user`).
 */
function resolve(parsed: ParsedScope, holder: Principal): Grant[] {
  if (parsed.scope === 'self') {
    return holder.kind === 'user' ? SELF_SCOPES.map((scope) => ({ scope, filter: { kind: 'user', name: holder.name } })) : [];
  }
  if (parsed.scope === '(no_scope)' || parsed.scope === 'inherit') return [];
  const f = parsed.filter;
  if (!f) return [{ scope: parsed.scope }];
  if (f.name !== undefined) return [{ scope: parsed.scope, filter: { kind: f.kind, name: f.name } }];
  if (f.kind === 'service') return holder.kind === 'service' ? [{ scope: parsed.scope, filter: { kind: 'service', name: holder.name } }] : [];
  if (holder.kind !== 'user') return [];
  const name = f.kind === 'server' ? `${holder.name}/` : holder.name;
  return [{ scope: parsed.scope, filter: { kind: f.kind, name } }];
}

/**
 * Every grant from raw scope strings for a holder, subscopes included, each once; a filtered
 * grant of a scope also held without a filter is dropped (JupyterHub's `reduce_scopes`).
 */
export function expandScopes(raw: readonly (string | ParsedScope)[], holder: Principal): Grant[] {
  const into = new Map<string, Grant>();
  for (const item of raw) {
    for (const grant of resolve(typeof item === 'string' ? parseScope(item) : item, holder)) expand(grant, into);
  }
  return [...into.values()].filter((g) => !g.filter || !into.has(g.scope));
}

/**
 * What one request may do: can() answers for a scope on a target. Any failure inside is a no.
 */
export interface Access {
  readonly principal: Principal;
  can(scope: Scope, target: ScopeTarget): boolean;
  /** Held for anything at all (any filter). */
  holdsAny(scope: Scope): boolean;
  /** Held with no filter: every user, group and service. */
  holdsUnfiltered(scope: Scope): boolean;
  /** Held over a name that no longer has an account: only grants for everyone or naming it count. */
  canForDeparted(scope: Scope, departed: string): boolean;
  /** The expanded scopes, as JupyterHub shows them (`access:servers!user=alice`). */
  scopeNames(): string[];
  /** Grants of one scope (to derive ceilings from). */
  grants(scope: Scope): Grant[];
}

function safely(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    return false;
  }
}

/** The scopes a principal holds from its roles. */
export class GrantSet implements Access {
  constructor(
    readonly principal: Principal,
    private readonly held: readonly Grant[],
    private readonly members: MembershipSource,
  ) {}

  can(scope: Scope, target: ScopeTarget): boolean {
    return safely(() => this.held.some((g) => g.scope === scope && covers(g, target, this.members)));
  }

  holdsAny(scope: Scope): boolean {
    return this.held.some((g) => g.scope === scope);
  }

  holdsUnfiltered(scope: Scope): boolean {
    return this.held.some((g) => g.scope === scope && !g.filter);
  }

  canForDeparted(scope: Scope, departed: string): boolean {
    // As covers(): a server filter reaches only scopes about servers.
    return this.held.some(
      (g) => g.scope === scope && (!g.filter || (g.filter.kind === 'user' && g.filter.name === departed)
        || (g.filter.kind === 'server' && SERVER_SCOPES.has(scope) && g.filter.name === `${departed}/`)),
    );
  }

  scopeNames(): string[] {
    return this.held.map(key).sort();
  }

  grants(scope: Scope): Grant[] {
    return this.held.filter((g) => g.scope === scope);
  }
}

/** The scopes about servers: the only ones a `!server=` filter can reach. */
const SERVER_SCOPES: ReadonlySet<Scope> = new Set<Scope>([
  'admin:servers', 'admin:server_state', 'servers', 'read:servers', 'start:servers', 'delete:servers', 'access:servers',
]);

/** Whether a grant's filter reaches the target. Unknown users are reached by nothing. */
export function covers(grant: Grant, target: ScopeTarget, members: MembershipSource): boolean {
  const f = grant.filter;
  if ('user' in target) {
    if (!members.exists(target.user)) return false;
    if (!f) return true;
    if (f.kind === 'user') return f.name === target.user;
    // A server filter names a server, so it reaches only scopes about servers (JupyterHub checks
    // user-level scopes against user and group filters alone): `tokens!server=bob/` gives nothing.
    if (f.kind === 'server') return SERVER_SCOPES.has(grant.scope) && f.name === `${target.user}/`;
    if (f.kind === 'group') return members.groupsOf(target.user).includes(f.name);
    return false;
  }
  if (!f) return true;
  if ('group' in target) return f.kind === 'group' && f.name === target.group;
  return f.kind === 'service' && f.name === target.service;
}

/**
 * A scoped token: what both the token's own scopes and its owner's current scopes allow, so a
 * token never outlives a permission its owner loses. Flotilla's workflow scopes come from the
 * token alone: they only narrow what the workflow server grants.
 */
export class TokenAccess implements Access {
  constructor(
    private readonly owner: Access,
    private readonly token: GrantSet,
    private readonly members: MembershipSource,
  ) {}

  get principal(): Principal {
    return this.owner.principal;
  }

  can(scope: Scope, target: ScopeTarget): boolean {
    if (WORKFLOW_SCOPES.includes(scope)) return this.token.can(scope, target);
    return this.token.can(scope, target) && this.owner.can(scope, target);
  }

  holdsAny(scope: Scope): boolean {
    return this.token.holdsAny(scope) && (WORKFLOW_SCOPES.includes(scope) || this.owner.holdsAny(scope));
  }

  holdsUnfiltered(scope: Scope): boolean {
    return this.token.holdsUnfiltered(scope) && (WORKFLOW_SCOPES.includes(scope) || this.owner.holdsUnfiltered(scope));
  }

  canForDeparted(scope: Scope, departed: string): boolean {
    return this.token.canForDeparted(scope, departed) && this.owner.canForDeparted(scope, departed);
  }

  scopeNames(): string[] {
    return intersectGrants((s) => this.token.grants(s), this.owner, this.members).map(key).sort();
  }

  grants(scope: Scope): Grant[] {
    return intersectGrants((s) => this.token.grants(s).filter((g) => g.scope === scope), this.owner, this.members, [scope]);
  }
}

/**
 * The token's grants that its owner also holds, each narrowed to the owner's filter where the
 * owner's is narrower (JupyterHub's `_intersect_expanded_scopes`, group membership resolved).
 */
function intersectGrants(tokenGrants: (scope: Scope) => Grant[], owner: Access, members: MembershipSource, scopes: readonly Scope[] = KNOWN_SCOPES): Grant[] {
  const out = new Map<string, Grant>();
  for (const scope of scopes) {
    const mine = tokenGrants(scope);
    if (WORKFLOW_SCOPES.includes(scope)) {
      for (const g of mine) out.set(key(g), g);
      continue;
    }
    const theirs = owner.grants(scope);
    for (const t of mine) {
      for (const o of theirs) {
        const narrower = narrowerOf(t, o, members);
        if (narrower) out.set(key(narrower), narrower);
      }
    }
  }
  return [...out.values()];
}

/** Whether `access` holds `grant` itself or something wider (the same scope, a wider filter). */
function heldWithin(grant: Grant, access: Access, members: MembershipSource): boolean {
  return access.grants(grant.scope).some((held) => {
    const narrower = narrowerOf(grant, held, members);
    return narrower !== undefined && key(narrower) === key(grant);
  });
}

function narrowerOf(a: Grant, b: Grant, members: MembershipSource): Grant | undefined {
  if (!a.filter) return b;
  if (!b.filter) return a;
  if (a.filter.kind === b.filter.kind) return a.filter.name === b.filter.name ? a : undefined;
  const within = (inner: Grant, outer: Grant) => {
    const user = inner.filter!.kind === 'user' ? inner.filter!.name : inner.filter!.kind === 'server' ? inner.filter!.name.slice(0, -1) : undefined;
    return user !== undefined && covers(outer, { user }, members);
  };
  if (within(a, b)) return a;
  if (within(b, a)) return b;
  return undefined;
}

interface Role {
  name: string;
  scopes: ParsedScope[];
  users: Set<string>;
  groups: Set<string>;
  services: Set<string>;
}

/**
 * Roles and scopes, JupyterHub style. The default role `user` (every account) holds `self`; the
 * default role `admin` (the admin_users, plus whoever `load_roles` puts in a role named `admin`)
 * holds every scope. A configured role named `user` replaces the default user scopes. Services
 * hold the scopes of the roles that name them. Resolved grants are cached per principal; call
 * invalidate() when groups or roles change.
 */
export class Permissions {
  private readonly roles: Role[] = [];
  private userScopes: ParsedScope[] = [{ scope: 'self' }];
  private readonly adminUsers = new Set<string>();
  private readonly adminGroups = new Set<string>();
  private readonly cache = new Map<string, GrantSet>();
  /** Scoped tokens' access by owner and scopes (a token's scopes never change; revocation is the token store's). */
  private readonly tokenCache = new Map<string, Access>();

  constructor(
    roles: readonly RoleDefinition[],
    private readonly members: MembershipSource,
    private readonly services: ReadonlySet<string> = new Set(),
  ) {
    roles.forEach((role, i) => {
      const scopes = role.scopes.map((text, j) => {
        try {
          return parseScope(text);
        } catch (err) {
          throw new RoleError(`JupyterHub.load_roles[${i}] (${role.name}) › scopes[${j}]: ${(err as Error).message}`);
        }
      });
      if (role.name === 'user') {
        this.userScopes = scopes;
      } else if (role.name === 'admin') {
        for (const u of role.users ?? []) this.adminUsers.add(u);
        for (const g of role.groups ?? []) this.adminGroups.add(g);
      }
      if (role.name !== 'user') {
        this.roles.push({ name: role.name, scopes, users: new Set(role.users ?? []), groups: new Set(role.groups ?? []), services: new Set(role.services ?? []) });
      }
    });
  }

  invalidate(): void {
    this.cache.clear();
    this.tokenCache.clear();
  }

  private isAdmin(user: string, groups: readonly string[]): boolean {
    return this.members.isAdmin(user) || this.adminUsers.has(user) || groups.some((g) => this.adminGroups.has(g));
  }

  private rolesHeldBy(principal: Principal): Role[] {
    if (principal.kind === 'service') return this.roles.filter((r) => r.services.has(principal.name));
    const groups = this.members.groupsOf(principal.name);
    return this.roles.filter((r) => r.users.has(principal.name) || groups.some((g) => r.groups.has(g)));
  }

  /** The role names a user holds. */
  rolesOf(user: string): string[] {
    const names = new Set(['user']);
    if (this.isAdmin(user, this.members.groupsOf(user))) names.add('admin');
    for (const role of this.rolesHeldBy({ kind: 'user', name: user })) names.add(role.name);
    return [...names];
  }

  /** The role names of a configured service. */
  rolesOfService(service: string): string[] {
    return this.rolesHeldBy({ kind: 'service', name: service }).map((r) => r.name);
  }

  /** Role names assigned to a group directly (load_roles[].groups). */
  rolesOfGroup(group: string): string[] {
    return this.roles.filter((r) => r.groups.has(group)).map((r) => r.name);
  }

  /** Everything a principal holds from its roles; nothing for an unknown one. */
  accessOf(principal: Principal): GrantSet {
    const cacheKey = `${principal.kind}:${principal.name}`;
    const cached = this.cache.get(cacheKey);
    if (cached) return cached;
    const raw: ParsedScope[] = [];
    if (principal.kind === 'user' && this.members.exists(principal.name)) {
      raw.push(...this.userScopes);
      if (this.isAdmin(principal.name, this.members.groupsOf(principal.name))) {
        for (const scope of KNOWN_SCOPES) if (!WORKFLOW_SCOPES.includes(scope)) raw.push({ scope });
      }
      for (const role of this.rolesHeldBy(principal)) raw.push(...role.scopes);
    } else if (principal.kind === 'service' && this.services.has(principal.name)) {
      for (const role of this.rolesHeldBy(principal)) raw.push(...role.scopes);
    }
    const set = new GrantSet(principal, expandScopes(raw, principal), this.members);
    this.cache.set(cacheKey, set);
    return set;
  }

  /** A token's access: `scopes` undefined (or holding `inherit`) is everything its owner holds. */
  accessOfToken(owner: Principal, scopes: readonly string[] | undefined): Access {
    const ownerAccess = this.accessOf(owner);
    if (scopes === undefined || scopes.includes('inherit')) return ownerAccess;
    const cacheKey = `${owner.kind}:${owner.name}\n${scopes.join('\n')}`;
    const cached = this.tokenCache.get(cacheKey);
    if (cached) return cached;
    const access = new TokenAccess(ownerAccess, new GrantSet(owner, expandScopes(scopes, owner), this.members), this.members);
    this.tokenCache.set(cacheKey, access);
    return access;
  }

  /**
   * The requested scopes that `owner` does not hold (JupyterHub refuses such a token); throws a
   * ScopeError for unknown scopes. Workflow scopes never exceed anything: they only narrow.
   */
  excessScopes(owner: Principal, scopes: readonly string[], requester?: Access): string[] {
    const ownerAccess = this.accessOf(owner);
    const all = expandScopes(scopes, owner);
    const wanted = all.filter((g) => !WORKFLOW_SCOPES.includes(g.scope));
    const granted = new Set(intersectGrants((s) => wanted.filter((g) => g.scope === s), ownerAccess, this.members).map(key));
    const excess = new Set(wanted.map(key).filter((k) => !granted.has(k)));
    if (requester) {
      // A requester with limited scopes (a scoped token, a service) hands on no more than it holds:
      // what it may not do, it may not mint a token to do.
      for (const g of all) if (!heldWithin(g, requester, this.members)) excess.add(key(g));
    }
    return [...excess].sort();
  }

  /** Shorthand for a signed-in user's own access. */
  forUser(user: string | null): Access {
    return this.accessOf({ kind: 'user', name: user ?? '' });
  }

  /** Whether `user` (with all of their roles) holds `scope` for `target`. */
  can(user: string | null, scope: Scope, target: ScopeTarget): boolean {
    return user !== null && this.forUser(user).can(scope, target);
  }

  holdsAny(user: string | null, scope: Scope): boolean {
    return user !== null && this.forUser(user).holdsAny(scope);
  }

  holdsUnfiltered(user: string | null, scope: Scope): boolean {
    return user !== null && this.forUser(user).holdsUnfiltered(scope);
  }

  canForDeparted(user: string | null, scope: Scope, departed: string): boolean {
    return user !== null && this.forUser(user).canForDeparted(scope, departed);
  }

  scopeNames(user: string): string[] {
    return this.forUser(user).scopeNames();
  }
}
