import { isValidUserName, NAME_RULE, quote } from './names.js';
import { didYouMean } from './suggest.js';

interface ScopeDefinition {
  description: string;
  /** Holding the scope also gives these, under the same filter. */
  subscopes?: readonly string[];
}

/**
 * JupyterHub's scopes (its `scope_definitions`, JupyterHub 5 plus 6's `start:servers`), with the
 * same names, subscope tree and meanings, and Flotilla's own `custom:workflows:*` scopes, which
 * narrow what a token may do inside a workflow server (the server applies them as a ceiling on
 * the owner's grants). Scopes for things Flotilla does not have (services' own pages, sharing,
 * the proxy API, shutdown, metrics) are accepted in configuration so that a JupyterHub role file
 * loads unchanged, and grant nothing here.
 */
export const SCOPE_DEFINITIONS = {
  '(no_scope)': { description: 'Identify the owner of the requesting entity.' },
  self: { description: "The user's own resources (for services: nothing more than identifying themselves)." },
  inherit: { description: 'Everything the owner of a token may do (tokens only).' },
  'admin-ui': { description: 'Access the admin page.' },
  'admin:users': {
    description: 'Read, modify, create and delete users, not including their servers or tokens.',
    subscopes: ['admin:auth_state', 'users', 'read:roles:users', 'delete:users'],
  },
  'admin:auth_state': { description: "Read a user's authentication state." },
  users: {
    description: 'Read and write user models (excluding servers, tokens and authentication state).',
    subscopes: ['read:users', 'list:users', 'users:activity'],
  },
  'delete:users': { description: 'Delete users.' },
  'list:users': { description: 'List users, including at least their names.', subscopes: ['read:users:name'] },
  'read:users': {
    description: 'Read user models (including the URL of the default server if it is running).',
    subscopes: ['read:users:name', 'read:users:groups', 'read:users:activity'],
  },
  'read:users:name': { description: 'Read names of users.' },
  'read:users:groups': { description: "Read users' group membership." },
  'read:users:activity': { description: 'Read time of last user activity.' },
  'read:roles': { description: 'Read role assignments.', subscopes: ['read:roles:users', 'read:roles:services', 'read:roles:groups'] },
  'read:roles:users': { description: 'Read user role assignments.' },
  'read:roles:services': { description: 'Read service role assignments.' },
  'read:roles:groups': { description: 'Read group role assignments.' },
  'users:activity': { description: 'Update time of last user activity.', subscopes: ['read:users:activity'] },
  'admin:servers': { description: 'Read, start, stop, create and delete user servers and their state.', subscopes: ['admin:server_state', 'servers'] },
  'admin:server_state': { description: "Read and write users' server state." },
  servers: { description: 'Start and stop user servers.', subscopes: ['read:servers', 'start:servers', 'delete:servers'] },
  'read:servers': { description: "Read users' names and their server models (excluding the server state).", subscopes: ['read:users:name'] },
  'start:servers': { description: "Start users' servers." },
  'delete:servers': { description: "Stop and delete users' servers." },
  tokens: { description: 'Read, write, create and delete user tokens.', subscopes: ['read:tokens'] },
  'read:tokens': { description: 'Read user tokens.' },
  'admin:groups': { description: 'Read and write group information, create and delete groups.', subscopes: ['groups', 'read:roles:groups', 'delete:groups'] },
  groups: { description: 'Read and write group information, including adding and removing users.', subscopes: ['read:groups', 'list:groups'] },
  'list:groups': { description: 'List groups, including at least their names.', subscopes: ['read:groups:name'] },
  'read:groups': { description: 'Read group models.', subscopes: ['read:groups:name'] },
  'read:groups:name': { description: 'Read group names.' },
  'delete:groups': { description: 'Delete groups.' },
  'admin:services': { description: 'Create, read, update and delete services (not those from configuration).', subscopes: ['list:services', 'read:services', 'read:roles:services'] },
  'list:services': { description: 'List services, including at least their names.', subscopes: ['read:services:name'] },
  'read:services': { description: 'Read service models.', subscopes: ['read:services:name'] },
  'read:services:name': { description: 'Read service names.' },
  'read:hub': { description: 'Read detailed information about the hub.' },
  'access:servers': { description: 'Access user servers via API or browser.' },
  'access:services': { description: 'Access services via API or browser.' },
  'users:shares': { description: "Read and revoke a user's access to shared servers.", subscopes: ['read:users:shares'] },
  'read:users:shares': { description: 'Read servers shared with a user.' },
  'groups:shares': { description: "Read and revoke a group's access to shared servers.", subscopes: ['read:groups:shares'] },
  'read:groups:shares': { description: 'Read servers shared with a group.' },
  'read:shares': { description: 'Read information about shared access to servers.' },
  shares: { description: 'Manage access to shared servers.', subscopes: ['access:servers', 'read:shares', 'users:shares', 'groups:shares'] },
  proxy: { description: "Read the proxy's routing table and sync the hub with it." },
  shutdown: { description: 'Shut the hub down.' },
  'read:metrics': { description: 'Read prometheus metrics.' },
  'custom:workflows:all': {
    description: 'Flotilla: inside workflow servers, every operation the user is otherwise permitted.',
    subscopes: ['custom:workflows:read', 'custom:workflows:control'],
  },
  'custom:workflows:read': { description: 'Flotilla: inside workflow servers, at most the `read` operation.' },
  'custom:workflows:control': { description: 'Flotilla: inside workflow servers, at most the CONTROL operations.' },
} as const satisfies Record<string, ScopeDefinition>;

export type Scope = keyof typeof SCOPE_DEFINITIONS;
export const KNOWN_SCOPES = Object.keys(SCOPE_DEFINITIONS) as Scope[];

/**
 * `!user=NAME`, `!group=NAME`, `!server=USER/` (the default server; named servers are off),
 * `!service=NAME`. Bare `!user`, `!server` and `!service` stand for the holder (a role's member,
 * a token's owner) and are resolved when the scope is given to someone.
 */
export type ScopeFilterKind = 'user' | 'group' | 'server' | 'service';
const FILTER_KINDS: readonly ScopeFilterKind[] = ['user', 'group', 'server', 'service'];
const BARE_FILTERS: readonly ScopeFilterKind[] = ['user', 'server', 'service'];

export interface ParsedScope {
  scope: Scope;
  /** `name` undefined: a bare filter, to be replaced by the holder. */
  filter?: { kind: ScopeFilterKind; name: string | undefined };
}

export class ScopeError extends Error {
  override name = 'ScopeError';
}

function isKnownScope(name: string): name is Scope {
  return Object.hasOwn(SCOPE_DEFINITIONS, name);
}

export function subscopesOf(scope: Scope): readonly Scope[] {
  const def: ScopeDefinition = SCOPE_DEFINITIONS[scope];
  return (def.subscopes ?? []) as readonly Scope[];
}

/** A server filter's value: `USER/` or `USER/SERVER`, the latter naming a server Flotilla never has. */
function validServerTarget(value: string): boolean {
  const slash = value.indexOf('/');
  return slash > 0 && isValidUserName(value.slice(0, slash));
}

/** Parses `scope`, `scope!kind=name` or `scope!kind`; throws a ScopeError that says what is wrong. */
export function parseScope(text: string): ParsedScope {
  const bang = text.indexOf('!');
  const scope = bang === -1 ? text : text.slice(0, bang);
  if (!isKnownScope(scope)) {
    const hint = scope === 'all' ? '; JupyterHub calls it "inherit"' : didYouMean(scope, KNOWN_SCOPES);
    throw new ScopeError(`unknown scope ${quote(scope)}${hint} (docs/jupyterhub-compatibility.md lists the scopes)`);
  }
  if (bang === -1) return { scope };
  const filter = text.slice(bang + 1);
  const equals = filter.indexOf('=');
  const kind = equals === -1 ? filter : filter.slice(0, equals);
  if (!(FILTER_KINDS as readonly string[]).includes(kind)) {
    throw new ScopeError(
      `unknown filter ${quote(`!${filter}`)} on scope "${scope}"${didYouMean(kind, FILTER_KINDS)}; filters are !user=NAME, !group=NAME, !server=USER/, !service=NAME, and !user, !server, !service for the holder`,
    );
  }
  const filterKind = kind as ScopeFilterKind;
  if (equals === -1) {
    if (!BARE_FILTERS.includes(filterKind)) throw new ScopeError(`filter "!${kind}" on scope "${scope}" needs a name: !${kind}=NAME`);
    return { scope, filter: { kind: filterKind, name: undefined } };
  }
  const name = filter.slice(equals + 1);
  const valid = filterKind === 'server' ? validServerTarget(name) : isValidUserName(name);
  if (!valid) {
    const wanted = filterKind === 'server' ? 'a server USER/ (a valid user name, then a slash)' : `a valid ${kind} name`;
    throw new ScopeError(`filter "!${kind}=" on scope "${scope}" needs ${wanted}, got ${quote(name)}: ${NAME_RULE}`);
  }
  return { scope, filter: { kind: filterKind, name } };
}

export function formatScope(s: ParsedScope): string {
  if (!s.filter) return s.scope;
  return s.filter.name === undefined ? `${s.scope}!${s.filter.kind}` : `${s.scope}!${s.filter.kind}=${s.filter.name}`;
}
