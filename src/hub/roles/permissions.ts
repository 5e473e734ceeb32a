import { KNOWN_SCOPES, parseScope, type ParsedScope, type Scope } from '../../config/scopes.js';

export interface RoleDefinition {
  name: string;
  scopes: readonly string[];
  users?: readonly string[];
  groups?: readonly string[];
}

/** What a scope is about: one user's resources or one group. */
export type ScopeTarget = { user: string } | { group: string };

/** A held scope; no filter means every user or group. */
export type Grant = ParsedScope;

/** Holding the key also gives the listed scopes, under the same filter (as in JupyterHub). */
const IMPLIES: Partial<Record<Scope, Scope[]>> = {
  'admin:servers': ['servers', 'read:servers'],
  servers: ['read:servers'],
  'admin:users': ['read:users', 'list:users'],
  'read:users': ['list:users'],
};

/** What `self` stands for: the holder's own server, their own user model and their own tokens. */
const SELF_SCOPES: Scope[] = ['access:servers', 'servers', 'read:servers', 'read:users', 'list:users', 'tokens'];

export interface MembershipSource {
  exists(user: string): boolean;
  isAdmin(user: string): boolean;
  groupsOf(user: string): readonly string[];
}

export class RoleError extends Error {
  override name = 'RoleError';
}

function expand(grant: Grant, into: Grant[]): void {
  into.push(grant);
  for (const implied of IMPLIES[grant.scope] ?? []) expand({ ...grant, scope: implied }, into);
}

function key(g: Grant): string {
  return g.filter ? `${g.scope}!${g.filter.kind}=${g.filter.name}` : g.scope;
}

/**
 * Roles and scopes, JupyterHub style. The default role `user` (everyone) holds `self`; the
 * default role `admin` (the admin_users, plus whoever `load_roles` puts in a role named `admin`)
 * holds every scope. A configured role named `user` replaces the default user scopes.
 * Resolved grants are cached per user; call invalidate() when groups or roles change.
 */
export class Permissions {
  private readonly roles: { name: string; grants: Grant[]; users: Set<string>; groups: Set<string> }[] = [];
  private userGrants: Grant[] = [{ scope: 'self' }];
  private readonly adminUsers = new Set<string>();
  private readonly adminGroups = new Set<string>();
  private readonly cache = new Map<string, Grant[]>();

  constructor(
    roles: readonly RoleDefinition[],
    private readonly members: MembershipSource,
  ) {
    roles.forEach((role, i) => {
      const grants = role.scopes.map((text, j) => {
        try {
          return parseScope(text);
        } catch (err) {
          throw new RoleError(`JupyterHub.load_roles[${i}] (${role.name}) › scopes[${j}]: ${(err as Error).message}`);
        }
      });
      if (role.name === 'user') {
        this.userGrants = grants;
      } else if (role.name === 'admin') {
        for (const u of role.users ?? []) this.adminUsers.add(u);
        for (const g of role.groups ?? []) this.adminGroups.add(g);
      } else {
        this.roles.push({ name: role.name, grants, users: new Set(role.users ?? []), groups: new Set(role.groups ?? []) });
      }
    });
  }

  invalidate(): void {
    this.cache.clear();
  }

  private isAdmin(user: string, groups: readonly string[]): boolean {
    return this.members.isAdmin(user) || this.adminUsers.has(user) || groups.some((g) => this.adminGroups.has(g));
  }

  /** The role names a user holds. */
  rolesOf(user: string): string[] {
    const groups = this.members.groupsOf(user);
    const names = ['user'];
    if (this.isAdmin(user, groups)) names.push('admin');
    for (const role of this.roles) {
      if (role.users.has(user) || groups.some((g) => role.groups.has(g))) names.push(role.name);
    }
    return names;
  }

  /** Every scope the user holds, `self` resolved and implications added. */
  grantsOf(user: string): Grant[] {
    const cached = this.cache.get(user);
    if (cached) return cached;
    const grants: Grant[] = [];
    if (this.members.exists(user)) {
      const groups = this.members.groupsOf(user);
      const raw: Grant[] = [...this.userGrants];
      if (this.isAdmin(user, groups)) for (const scope of KNOWN_SCOPES) if (scope !== 'self') raw.push({ scope });
      for (const role of this.roles) {
        if (role.users.has(user) || groups.some((g) => role.groups.has(g))) raw.push(...role.grants);
      }
      for (const grant of raw) {
        if (grant.scope === 'self') {
          for (const scope of SELF_SCOPES) expand({ scope, filter: { kind: 'user', name: user } }, grants);
        } else {
          expand(grant, grants);
        }
      }
    }
    const unique = [...new Map(grants.map((g) => [key(g), g])).values()];
    this.cache.set(user, unique);
    return unique;
  }

  /** Scope strings as JupyterHub shows them (`access:servers!user=alice`). */
  scopeNames(user: string): string[] {
    return this.grantsOf(user).map(key).sort();
  }

  /** Whether `user` holds `scope` for `target`. Unknown users, unknown targets: no. */
  can(user: string | null, scope: Scope, target: ScopeTarget): boolean {
    if (!user) return false;
    try {
      for (const grant of this.grantsOf(user)) {
        if (grant.scope !== scope) continue;
        if (this.covers(grant, target)) return true;
      }
      return false;
    } catch {
      return false;
    }
  }

  /** Whether `user` holds `scope` for anything at all (any filter); like can(), any failure is a no. */
  holdsAny(user: string | null, scope: Scope): boolean {
    if (!user) return false;
    try {
      return this.grantsOf(user).some((g) => g.scope === scope);
    } catch {
      return false;
    }
  }

  /** Whether `user` holds `scope` with no filter (for every user and group); any failure is a no. */
  holdsUnfiltered(user: string | null, scope: Scope): boolean {
    if (!user) return false;
    try {
      return this.grantsOf(user).some((g) => g.scope === scope && !g.filter);
    } catch {
      return false;
    }
  }

  private covers(grant: Grant, target: ScopeTarget): boolean {
    const filter = grant.filter;
    if ('user' in target) {
      if (!this.members.exists(target.user)) return false;
      if (!filter) return true;
      if (filter.kind === 'user') return filter.name === target.user;
      return this.members.groupsOf(target.user).includes(filter.name);
    }
    if (!filter) return true;
    return filter.kind === 'group' && filter.name === target.group;
  }
}
